// UIDVALIDITY and UIDNEXT survive a server restart, and UIDs of expunged
// messages are never handed out again (RFC 9051 2.3.1.1).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';
import { RawImap } from './wire-clients.js';

async function append(imap: RawImap, mailbox: string, subject: string): Promise<string> {
  const message = `Subject: ${subject}\r\n\r\nbody\r\n`;
  const tag = imap.nextTag();
  imap.socket.write(`${tag} APPEND ${mailbox} {${Buffer.byteLength(message)}+}\r\n${message}\r\n`);
  return (await imap.collect(tag)).tagged;
}

async function status(imap: RawImap, mailbox: string): Promise<string> {
  const r = await imap.command(`STATUS ${mailbox} (UIDVALIDITY UIDNEXT MESSAGES)`);
  assert.match(r.tagged, /^OK/);
  return r.untagged.join('\n');
}

describe('restart', () => {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.cleanup();
  });

  test('UIDVALIDITY, UIDNEXT and UIDs are stable across a restart', async () => {
    server = await startServer({ users: { rita: 'pw' } });
    let imap = await RawImap.connect(server.imapPort);
    assert.match((await imap.command('LOGIN rita pw')).tagged, /^OK/);
    assert.match((await imap.command('CREATE Projects')).tagged, /^OK/);
    for (const s of ['one', 'two', 'three']) assert.match(await append(imap, 'Projects', s), /^OK \[APPENDUID \d+ \d\]/);
    assert.match((await imap.command('SELECT Projects')).tagged, /^OK/);
    assert.match((await imap.command('UID STORE 3 +FLAGS.SILENT (\\Deleted)')).tagged, /^OK/);
    assert.match((await imap.command('EXPUNGE')).tagged, /^OK/);
    const before = await status(imap, 'Projects');
    const uidValidity = /UIDVALIDITY (\d+)/.exec(before)![1];
    assert.match(before, /UIDNEXT 4/);
    assert.match(before, /MESSAGES 2/);
    await imap.command('LOGOUT');
    imap.close();

    server = await server.restart();
    imap = await RawImap.connect(server.imapPort);
    assert.match((await imap.command('LOGIN rita pw')).tagged, /^OK/);
    assert.equal(await status(imap, 'Projects'), before);
    assert.match(await append(imap, 'Projects', 'four'), new RegExp(`^OK \\[APPENDUID ${uidValidity} 4\\]`));
    const fetched = await imap.command('EXAMINE Projects');
    assert.match(fetched.untagged.join('\n'), new RegExp(`\\[UIDVALIDITY ${uidValidity}\\]`));
    const uids = await imap.command('UID SEARCH ALL');
    assert.deepEqual(uids.untagged, ['* SEARCH 1 2 4']);
    await imap.command('LOGOUT');
    imap.close();
  });
});
