// End to end with the clients found on every machine: Python's imaplib and
// curl's IMAP support, against the real server process.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';

const run = promisify(execFile);

describe('Python imaplib and curl against petrel serve', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ users: { carol: 'pa55word', dave: 'secret' } });
  });
  after(async () => {
    await server?.cleanup();
  });

  test('imaplib: login, list, append, select, search, fetch, store, expunge, status, create, rename', async () => {
    const script = join(import.meta.dirname, 'clients', 'imaplib_session.py');
    const { stdout } = await run('python3', [script, String(server.imapPort), 'carol', 'pa55word']);
    const out = JSON.parse(stdout) as Record<string, unknown>;
    assert.ok((out.capabilities as string[]).includes('IMAP4REV1'));
    assert.ok((out.capabilities as string[]).includes('IMAP4REV2'));
    assert.equal(out.login, 'OK');
    assert.ok((out.list as string[]).some((l) => /"\/" "?INBOX"?$/.test(l)), JSON.stringify(out.list));
    assert.ok((out.list as string[]).some((l) => l.includes('\\Sent') && /Sent"?$/.test(l)));
    const [appendTyp, appendText] = out.append as [string, string];
    assert.equal(appendTyp, 'OK');
    assert.match(appendText, /^\[APPENDUID \d+ 1\] /);
    assert.deepEqual(out.select, ['OK', '1']);
    assert.equal(out.search_flagged, '1');
    assert.equal(out.uid_search_body, '1');
    const [fetchHead, fetchData] = out.fetch_header as [string, string];
    assert.match(fetchHead, /^1 \(RFC822\.SIZE 65 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{25\}$/);
    assert.equal(fetchData, 'Subject: imaplib test\r\n\r\n');
    assert.equal(out.fetch_text, 'body from python\r\n');
    assert.match(out.flags_after_body as string, /\\Seen/);
    assert.match(out.store as string, /\\Deleted/);
    assert.deepEqual(out.expunge, ['1']);
    assert.match(out.status as string, /^"?INBOX"? \(MESSAGES 0 UIDNEXT 2\)$/);
    assert.equal(out.create, 'OK');
    assert.equal(out.rename, 'OK');
    assert.ok((out.list_work as string[]).some((l) => /Work\/2026"?$/.test(l)), JSON.stringify(out.list_work));
    assert.equal(out.logout, 'BYE');
  });

  test('curl: list mailboxes, fetch a message by UID, search', async () => {
    const message = 'From: curl@example.org\r\nSubject: via curl\r\n\r\nfetched by curl\r\n';
    const delivered = await server.cli(['deliver', 'dave'], message);
    assert.equal(delivered.code, 0, delivered.stderr);
    const base = `imap://127.0.0.1:${server.imapPort}`;
    const auth = ['--user', 'dave:secret', '--silent', '--show-error'];
    const list = await run('curl', [...auth, `${base}/`]);
    assert.match(list.stdout, /\* LIST \([^)]*\) "\/" "?INBOX"?\r\n/);
    const fetched = await run('curl', [...auth, `${base}/INBOX;UID=1`]);
    assert.equal(fetched.stdout, message);
    const search = await run('curl', [...auth, `${base}/INBOX?SUBJECT%20curl`]);
    assert.match(search.stdout, /^\* SEARCH 1\r\n$/);
  });
});
