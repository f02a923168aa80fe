// Transcripts: greeting, CAPABILITY, NOOP, LOGOUT, LOGIN, ID, ENABLE,
// NAMESPACE, garbage, pipelining, literals.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './transcript.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { capabilities } from '../../src/imap/capabilities.js';

// The post-login list, from the one place that builds it (several extensions are being added at once).
// The test server keeps the default limits.max_message_size, advertised as APPENDLIMIT (RFC 7889).
const CORE = capabilities({ authenticated: true, secure: false, tlsAvailable: false, allowPlaintextAuth: true, appendLimit: defaultConfig().limits.maxMessageSize }).join(' ');

describe('basic commands', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer();
  });
  after(async () => {
    await ts.close();
  });

  test('greeting, CAPABILITY, NOOP, LOGOUT', async () => {
    const c = await ts.connect();
    await c.run('a CAPABILITY', [`* CAPABILITY ${CORE} AUTH=PLAIN AUTH=LOGIN`, 'a OK CAPABILITY completed']);
    await c.run('b NOOP', ['b OK NOOP completed']);
    await c.run('c LOGOUT', ['* BYE Logging out', 'c OK LOGOUT completed']);
    await c.closed();
  });

  test('LOGIN: bad password, then good; capabilities after auth', async () => {
    const c = await ts.connect();
    await c.run('a LOGIN alice wrong', ['a NO [AUTHENTICATIONFAILED] Authentication failed']);
    await c.run('b LOGIN alice secret', [`b OK [CAPABILITY ${CORE}] Logged in`]);
    await c.run('c LOGIN alice secret', ['c BAD LOGIN not allowed in the authenticated (no mailbox selected) state']);
    await c.run('d CAPABILITY', [`* CAPABILITY ${CORE}`, 'd OK CAPABILITY completed']);
    await c.run('e LOGOUT', ['* BYE Logging out', 'e OK LOGOUT completed']);
  });

  test('commands in the wrong state get BAD', async () => {
    const c = await ts.connect();
    await c.run('a SELECT INBOX', ['a BAD SELECT not allowed in the not authenticated state']);
    await c.run('b FETCH 1 FLAGS', ['b BAD FETCH not allowed in the not authenticated state']);
    const l = await ts.login();
    await l.run('c FETCH 1 FLAGS', ['c BAD FETCH not allowed in the authenticated (no mailbox selected) state']);
    await l.run('d EXPUNGE', ['d BAD EXPUNGE not allowed in the authenticated (no mailbox selected) state']);
  });

  test('garbage gets BAD and the connection keeps working', async () => {
    const c = await ts.connect();
    c.send('a FROBNICATE\r\n');
    const bad = await c.line();
    assert.match(bad, /^a BAD /);
    c.send('*** nonsense\r\n');
    assert.match(await c.line(), /^\* BAD /);
    c.send('b LOGIN\r\n');
    assert.match(await c.line(), /^b BAD /);
    await c.run('c NOOP', ['c OK NOOP completed']);
  });

  test('pipelined commands answer in order', async () => {
    const c = await ts.login();
    c.send('p1 NOOP\r\np2 CAPABILITY\r\np3 NAMESPACE\r\np4 SELECT INBOX\r\np5 NOOP\r\n');
    await c.expect(['p1 OK NOOP completed', `* CAPABILITY ${CORE}`, 'p2 OK CAPABILITY completed']);
    await c.expect(['* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared/" "/"))', 'p3 OK NAMESPACE completed']);
    const sel = await c.until('p4');
    assert.equal(sel[sel.length - 1], 'p4 OK [READ-WRITE] SELECT completed');
    await c.expect(['p5 OK NOOP completed']);
  });

  test('synchronizing and non-synchronizing literals', async () => {
    const c = await ts.connect();
    c.send('a LOGIN {5}\r\n');
    await c.expect(['+ Ready for literal']);
    c.send('alice {6+}\r\nsecret\r\n');
    await c.expect([`a OK [CAPABILITY ${CORE}] Logged in`]);
    c.send('b CREATE {6+}\r\nLit/er\r\n');
    await c.expect(['b OK [MAILBOXID (%s)] CREATE completed']);
    await c.run('c LIST "" Lit*', ['* LIST (\\HasChildren) "/" Lit', '* LIST (\\HasNoChildren) "/" Lit/er', 'c OK LIST completed']);
  });

  test('ID and ENABLE', async () => {
    const c = await ts.login();
    await c.run('a ID ("name" "test")', ['* ID ("name" "Petrel" "vendor" "Petrel")', 'a OK ID completed']);
    await c.run('b ENABLE IMAP4rev2 FOO', ['* ENABLED IMAP4rev2', 'b OK ENABLE completed']);
    await c.run('c ENABLE IMAP4rev2', ['* ENABLED', 'c OK ENABLE completed']);
  });

  test('AUTHENTICATE PLAIN with and without initial response, LOGIN, cancel', async () => {
    const b64 = Buffer.from('\0alice\0secret').toString('base64');
    let c = await ts.connect();
    await c.run(`a AUTHENTICATE PLAIN ${b64}`, [`a OK [CAPABILITY ${CORE}] Logged in`]);
    c = await ts.connect();
    await c.run('a AUTHENTICATE PLAIN', ['+ ']);
    await c.run(b64, [`a OK [CAPABILITY ${CORE}] Logged in`]);
    c = await ts.connect();
    await c.run('a AUTHENTICATE PLAIN', ['+ ']);
    await c.run('*', ['a BAD Authentication cancelled']);
    await c.run('b AUTHENTICATE LOGIN', ['+ VXNlcm5hbWU6']);
    await c.run(Buffer.from('alice').toString('base64'), ['+ UGFzc3dvcmQ6']);
    await c.run(Buffer.from('secret').toString('base64'), [`b OK [CAPABILITY ${CORE}] Logged in`]);
    c = await ts.connect();
    await c.run(`a AUTHENTICATE PLAIN ${Buffer.from('\0alice\0nope').toString('base64')}`, ['a NO [AUTHENTICATIONFAILED] Authentication failed']);
    await c.run('b AUTHENTICATE CRAM-MD5', ['b NO Unsupported authentication mechanism CRAM-MD5']);
  });
});

describe('LOGINDISABLED', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({ configure: (c) => (c.imap.allowPlaintextAuth = false) });
  });
  after(async () => {
    await ts.close();
  });

  test('no plaintext login on an unencrypted connection', async () => {
    const c = await ts.connect();
    await c.run('a CAPABILITY', [`* CAPABILITY ${CORE} LOGINDISABLED`, 'a OK CAPABILITY completed']);
    await c.run('b LOGIN alice secret', ['b NO [PRIVACYREQUIRED] Plaintext authentication is disabled; use TLS first']);
    await c.run('c AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==', ['c NO [PRIVACYREQUIRED] Plaintext authentication is disabled; use TLS first']);
    await c.run('d STARTTLS', ['d BAD STARTTLS is not available']);
  });
});
