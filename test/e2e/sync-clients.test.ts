// Two-way synchronisation with the offline sync tools mail users run, mbsync
// (isync) and offlineimap (offlineimap3), against the real server: a first
// sync must copy every folder and message byte for byte (both store LF line
// ends in Maildir, so the file is the IMAP message with CRLF -> LF), then
// changes made on both sides must meet after the next run. These clients lean
// on LIST, UIDPLUS (APPENDUID), flags, \Deleted + EXPUNGE and APPEND.
// On failure the assertion carries the client's protocol trace.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startServer, type RunningServer } from './harness.js';
import {
  assertSameAccount,
  crlfToLf,
  deleteMaildirMessage,
  describeSnapshot,
  localSnapshot,
  readMaildirTree,
  serverSnapshot,
  setMaildirFlags,
  writeMaildirMessage,
  withoutTuid,
  type AccountSnapshot,
} from './maildir.js';
import { LmtpSession } from './wire-clients.js';

const USER = 'mia';
const PASS = 'sync-pass';

function message(id: string, subject: string, body: string, extraHeaders = ''): Buffer {
  return Buffer.from(
    `From: Sender <sender@example.org>\r\nTo: Mia <mia@example.org>\r\nSubject: ${subject}\r\n` +
      `Date: Sun, 22 Nov 2026 10:00:00 +0000\r\nMessage-ID: <${id}@example.org>\r\n${extraHeaders}\r\n${body}\r\n`,
    'utf8',
  );
}

/** A multipart message with a ~150 KB base64 attachment (exercises big literals). */
function bigMessage(id: string): Buffer {
  const bytes = Buffer.alloc(110_000);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 131 + 7) & 0xff;
  const b64 = bytes.toString('base64').replace(/.{76}/g, '$&\r\n');
  return message(
    id,
    'big attachment',
    `--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n` +
      `--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b1--`,
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n',
  );
}

/**
 * What INBOX receives. `rawUtf8Header`: a Subject in raw UTF-8 (RFC 6532
 * style). offlineimap3 8.0.0 (Debian 12, Python 3.11) crashes on such headers
 * in its own code (email policy refold -> its utf7m codec: "'memoryview' object
 * has no attribute 'decode'"), so its scenario uses an RFC 2047 subject.
 */
function inboxMessages(rawUtf8Header: boolean): Record<string, Buffer> {
  const subject = rawUtf8Header ? 'Grüße aus Köln' : '=?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=';
  return {
    plain: message('plain', 'plain ascii', 'Hello.'),
    utf8: message('utf8', subject, 'Ünïcödé 8-bit body: €, 日本語.', 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n'),
    big: bigMessage('big'),
  };
}

function imap(server: RunningServer): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: server.imapPort,
    secure: false,
    auth: { user: USER, pass: PASS },
    logger: false,
    disableAutoIdle: true,
  });
}

async function withImap<T>(server: RunningServer, fn: (c: ImapFlow) => Promise<T>): Promise<T> {
  const c = imap(server);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.logout();
  }
}

async function deliver(server: RunningServer, messages: Buffer[]): Promise<void> {
  const lmtp = await LmtpSession.connect(server.lmtpPort);
  try {
    for (const m of messages) assert.match(await lmtp.deliver('sender@example.org', `${USER}@example.org`, m), /^250 /);
  } finally {
    lmtp.close();
  }
}

/** The account the first sync starts from: default folders, nested and spaced names, flags. */
async function populate(server: RunningServer, inbox: Record<string, Buffer>): Promise<void> {
  await deliver(server, Object.values(inbox));
  await withImap(server, async (c) => {
    for (const name of ['Work', 'Work/Projects', 'Old Mail']) await c.mailboxCreate(name);
    await c.append('Work', message('work1', 'work one', 'Quarterly numbers.'), ['\\Seen', '\\Answered']);
    await c.append('Work', message('work2', 'work two', 'To be deleted on the server.'), ['\\Seen']);
    await c.append('Work/Projects', message('proj1', 'project', 'Draft plan.'), ['\\Flagged', '\\Draft']);
    await c.append('Sent', message('sent1', 'sent mail', 'I wrote this.'), ['\\Seen']);
    await c.append('Old Mail', message('old1', 'old', 'From 2019.'), []);
  });
}

/** Finds the single local file holding the message with this Message-ID. */
async function localFile(root: string, folder: string, id: string): Promise<string> {
  const tree = await readMaildirTree(root);
  const hits = (tree.get(folder) ?? []).filter((m) => m.bytes.includes(`Message-ID: <${id}@example.org>`));
  assert.equal(hits.length, 1, `exactly one local copy of <${id}> in ${folder}`);
  return hits[0]!.file;
}

interface SyncClient {
  name: string;
  /** The client copes with raw UTF-8 in headers. */
  rawUtf8Headers: boolean;
  /** Undoes what the client adds to the messages it stores and uploads (mbsync: X-TUID). */
  normalize(bytes: Buffer): Buffer;
  /** Runs one full sync; returns the protocol trace. Throws (with the trace) on a non-zero exit. */
  sync(): Promise<string>;
}

/**
 * The scenario both clients go through: first sync, changes on both sides,
 * second sync, and a third that must change nothing.
 */
function syncScenario(makeClient: (server: RunningServer, work: string, maildir: string) => Promise<SyncClient>) {
  let server: RunningServer;
  let work: string;
  let maildir: string;
  let client: SyncClient;
  let inbox: Record<string, Buffer>;
  let lastTrace = '';
  const context = () => `protocol trace (last 150 lines):\n${lastTrace.split('\n').slice(-150).join('\n')}`;

  async function syncAndCompare(): Promise<{ server: AccountSnapshot; local: AccountSnapshot }> {
    lastTrace = await client.sync();
    const remote = await withImap(server, (c) => serverSnapshot(c, (b) => client.normalize(b)));
    const local = await localSnapshot(maildir, (b) => client.normalize(b));
    assertSameAccount(remote, local, () => `server: ${JSON.stringify(describeSnapshot(remote), null, 1)}\nlocal: ${JSON.stringify(describeSnapshot(local), null, 1)}\n${context()}`);
    return { server: remote, local };
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'petrel-sync-'));
    maildir = join(work, 'mail');
    await mkdir(maildir);
    server = await startServer({ users: { [USER]: PASS } });
    client = await makeClient(server, work, maildir);
    inbox = inboxMessages(client.rawUtf8Headers);
    await populate(server, inbox);
  });
  after(async () => {
    await server?.cleanup();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('first sync copies every folder and message byte for byte, with flags', async () => {
    const { server: remote } = await syncAndCompare();
    assert.deepEqual(
      [...remote.keys()].sort(),
      ['Archive', 'Drafts', 'INBOX', 'Junk', 'Old Mail', 'Sent', 'Trash', 'Work', 'Work/Projects'],
    );
    assert.equal(remote.get('INBOX')!.length, 3);
    // Byte for byte: each Maildir file is exactly the server's message with LF line ends
    // (plus what the client itself adds, see normalize). LMTP put a Return-Path on top.
    const tree = await readMaildirTree(maildir);
    for (const [id, original] of Object.entries(inbox)) {
      const copy = tree.get('INBOX')!.find((m) => m.bytes.includes(`Message-ID: <${id}@example.org>`));
      assert.ok(copy, `INBOX has <${id}>`);
      const expected = Buffer.concat([Buffer.from('Return-Path: <sender@example.org>\n'), crlfToLf(original)]);
      assert.ok(client.normalize(copy.bytes).equals(expected), `<${id}> is byte-exact\n${context()}`);
      if (client.name === 'mbsync') assert.ok(withoutTuid(copy.bytes), 'mbsync added exactly its one X-TUID header line');
      else assert.ok(copy.bytes.equals(expected), `${client.name} stored the message unchanged`);
    }
    assert.equal(await localFile(maildir, 'Work/Projects', 'proj1').then((f) => f.endsWith(':2,DF')), true);
  });

  test('changes on both sides propagate both ways on the next sync', async () => {
    // Local side: flag one, delete one, a new message in INBOX, a new folder.
    await setMaildirFlags(await localFile(maildir, 'INBOX', 'plain'), 'FS');
    await deleteMaildirMessage(await localFile(maildir, 'INBOX', 'utf8'));
    const localNew = Buffer.from('From: mia@example.org\nSubject: written offline\nMessage-ID: <offline@example.org>\n\nZürich, 8-bit €\n', 'utf8');
    await writeMaildirMessage(maildir, 'INBOX', 'offline-1', localNew);
    await writeMaildirMessage(maildir, 'Local', 'local-1', Buffer.from('Subject: local folder\nMessage-ID: <localfolder@example.org>\n\nmade offline\n'));
    // Server side: a new delivery, a flag set, an expunge, a new folder.
    const fresh = message('fresh', 'delivered while offline', 'New mail.');
    await deliver(server, [fresh]);
    await withImap(server, async (c) => {
      await c.mailboxOpen('INBOX');
      const [big] = (await c.search({ header: { 'message-id': '<big@example.org>' } }, { uid: true })) || [];
      assert.ok(big, 'the big message is on the server');
      await c.messageFlagsAdd(String(big), ['\\Flagged', '\\Answered'], { uid: true });
      await c.mailboxOpen('Work');
      const [doomed] = (await c.search({ header: { 'message-id': '<work2@example.org>' } }, { uid: true })) || [];
      assert.ok(doomed);
      assert.ok(await c.messageDelete(String(doomed), { uid: true }));
      await c.mailboxCreate('Remote');
    });

    const { server: remote } = await syncAndCompare();
    const inboxLines = describeSnapshot(remote).INBOX!;
    assert.equal(inboxLines.length, 4, inboxLines.join('\n'));
    const find = (id: string) => remote.get('INBOX')!.find((m) => m.body.includes(`Message-ID: <${id}@example.org>`));
    assert.equal(find('plain')?.flags, 'FS', 'the local flag change reached the server');
    assert.equal(find('utf8'), undefined, 'the local deletion expunged the message on the server');
    assert.equal(find('big')?.flags, 'FR', 'the server flag change reached the Maildir');
    assert.ok(find('fresh')?.body.subarray(-fresh.length).equals(fresh), 'the new delivery reached the Maildir');
    // The offline message arrived on the server as the same bytes with CRLF line ends (8-bit intact).
    const offline = await withImap(server, async (c) => {
      await c.mailboxOpen('INBOX');
      const [uid] = (await c.search({ header: { 'message-id': '<offline@example.org>' } }, { uid: true })) || [];
      const fetched = uid ? await c.fetchOne(String(uid), { source: true }, { uid: true }) : false;
      return fetched ? fetched.source : undefined;
    });
    assert.ok(offline, `the offline message was uploaded\n${context()}`);
    if (client.name === 'mbsync') assert.ok(withoutTuid(offline), 'mbsync uploads with its X-TUID line');
    else assert.equal(withoutTuid(offline), null);
    assert.deepEqual(
      client.normalize(offline),
      Buffer.from('From: mia@example.org\r\nSubject: written offline\r\nMessage-ID: <offline@example.org>\r\n\r\nZürich, 8-bit €\r\n'),
    );
    assert.equal(remote.get('Local')?.length, 1, 'the local folder and its message were created on the server');
    assert.deepEqual(remote.get('Remote'), [], 'the server folder was created locally');
    assert.equal(remote.get('Work')!.length, 1, 'the server expunge removed the local copy');
  });

  test('a further sync with no changes changes nothing', async () => {
    const before = await withImap(server, (c) => serverSnapshot(c, (b) => client.normalize(b)));
    const { server: afterSync } = await syncAndCompare();
    assert.deepEqual(describeSnapshot(afterSync), describeSnapshot(before));
  });

  test('the server logged no errors or warnings during the syncs', () => {
    const bad = server.log.filter((line) => /"level":"(error|warn|fatal)"/.test(line));
    assert.deepEqual(bad, []);
  });
}

function runTool(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { env, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      const trace = `${stdout}\n${stderr}`;
      if (err) {
        const lines = trace.split('\n');
        const errors = lines.filter((l) => /ERROR|Error|Traceback|abort|Exception/.test(l)).slice(0, 40);
        reject(new Error(`${cmd} failed (${err.message.split('\n')[0]}):\n${errors.join('\n')}\n...\n${lines.slice(-200).join('\n')}`));
      } else resolve(trace);
    });
  });
}

describe('mbsync (isync) two-way sync', () => {
  syncScenario(async (server, work, maildir) => {
    const config = join(work, 'mbsyncrc');
    await writeFile(
      config,
      [
        'IMAPAccount petrel',
        'Host 127.0.0.1',
        `Port ${server.imapPort}`,
        `User ${USER}`,
        `Pass ${PASS}`,
        'SSLType None',
        'AuthMechs LOGIN',
        '',
        'IMAPStore remote',
        'Account petrel',
        '',
        'MaildirStore local',
        `Path ${maildir}/`,
        `Inbox ${maildir}/INBOX`,
        'SubFolders Verbatim',
        '',
        'Channel sync',
        'Far :remote:',
        'Near :local:',
        'Patterns *',
        'Create Both',
        'Remove None',
        'Expunge Both',
        'SyncState *',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, HOME: work };
    return {
      name: 'mbsync',
      rawUtf8Headers: true,
      // Messages mbsync stored or uploaded carry its X-TUID line; those the test wrote do not.
      normalize: (bytes) => withoutTuid(bytes) ?? bytes,
      // -D: full debug output, which includes every IMAP command and response.
      sync: () => runTool('mbsync', ['-c', config, '-D', '-a'], env).then(protocolLinesMbsync),
    };
  });
});

describe('offlineimap (offlineimap3) two-way sync', () => {
  syncScenario(async (server, work, maildir) => {
    const config = join(work, 'offlineimaprc');
    await writeFile(
      config,
      [
        '[general]',
        'accounts = petrel',
        `metadata = ${join(work, 'offlineimap-meta')}`,
        'ui = basic',
        '',
        '[Account petrel]',
        'localrepository = local',
        'remoterepository = remote',
        '',
        '[Repository local]',
        'type = Maildir',
        `localfolders = ${maildir}`,
        'sep = /',
        '',
        '[Repository remote]',
        'type = IMAP',
        'remotehost = 127.0.0.1',
        `remoteport = ${server.imapPort}`,
        `remoteuser = ${USER}`,
        `remotepass = ${PASS}`,
        'ssl = no',
        'starttls = no',
        '',
      ].join('\n'),
    );
    const env = { ...process.env, HOME: work };
    return {
      name: 'offlineimap',
      rawUtf8Headers: false,
      normalize: (bytes) => bytes,
      // -o: one run; -d imap: the IMAP protocol trace.
      sync: () => runTool('offlineimap', ['-c', config, '-o', '-d', 'imap'], env).then(protocolLinesOfflineimap),
    };
  });
});

/** mbsync -D: keep the lines that are IMAP traffic (">>> " commands, untagged and tagged responses). */
function protocolLinesMbsync(out: string): string {
  return out
    .split('\n')
    .filter((l) => /^[FN]: (>>>|\*|\d+ )/.test(l) || /^\(\d+ in progress\) [FN]: >>>/.test(l))
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l))
    .join('\n');
}

/** offlineimap -d imap: the lines the IMAP reader received and the writer sent. */
function protocolLinesOfflineimap(out: string): string {
  return out
    .split('\n')
    .filter((l) => / (reader <|writer >) /.test(l) || /ERROR|Traceback|WARNING/.test(l))
    .map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l))
    .join('\n');
}
