// Transcripts of connection behaviour: STARTTLS (and discarding what was
// pipelined after it), implicit TLS, connection and command limits,
// autologout, IDLE keep-alive, graceful shutdown.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { Client, startTestServer, type TestServer } from './transcript.js';
import { defaultConfig } from '../../src/config/defaults.js';
import { capabilities } from '../../src/imap/capabilities.js';

// The post-login list, from the one place that builds it (several extensions are being added at once).
// The test server keeps the default limits.max_message_size, advertised as APPENDLIMIT (RFC 7889).
const CORE = capabilities({ authenticated: true, secure: false, tlsAvailable: false, allowPlaintextAuth: true, appendLimit: defaultConfig().limits.maxMessageSize }).join(' ');

describe('TLS', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      tls: true,
      configure: (c) => {
        c.imap.allowPlaintextAuth = false;
      },
    });
  });
  after(async () => {
    await ts.close();
  });

  test('STARTTLS upgrades; bytes pipelined after it are discarded', async () => {
    const c = await ts.connect();
    await c.run('a CAPABILITY', [`* CAPABILITY ${CORE} STARTTLS LOGINDISABLED`, 'a OK CAPABILITY completed']);
    await c.run('b STARTTLS\r\nc LOGIN alice secret', ['b OK Begin TLS negotiation now']);
    const s = await c.startTls();
    await s.run('d CAPABILITY', [`* CAPABILITY ${CORE} AUTH=PLAIN AUTH=LOGIN`, 'd OK CAPABILITY completed']);
    await s.run('e STARTTLS', ['e BAD TLS is already active']);
    await s.run('f LOGIN alice secret', [`f OK [CAPABILITY ${CORE}] Logged in`]);
    s.destroy();
  });

  test('implicit TLS listener', async () => {
    const sock = tls.connect({ port: ts.tlsPort!, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      sock.once('secureConnect', () => resolve());
      sock.once('error', reject);
    });
    const c = Client.over(sock);
    await c.expect([`* OK [CAPABILITY ${CORE} AUTH=PLAIN AUTH=LOGIN] Petrel ready`]);
    await c.run('a LOGIN alice secret', [`a OK [CAPABILITY ${CORE}] Logged in`]);
    c.destroy();
  });
});

describe('limits and timers', () => {
  let ts: TestServer;
  before(async () => {
    ts = await startTestServer({
      users: ['alice', 'bob'],
      configure: (c) => {
        c.limits.maxConnectionsPerIp = 3;
        c.limits.maxConnectionsPerUser = 1;
        c.limits.maxCommandsPerConnection = 3;
        c.limits.preAuthTimeoutSeconds = 0.3;
        c.imap.idleKeepaliveSeconds = 0.2;
      },
    });
  });
  after(async () => {
    await ts.close();
  });

  test('per-user connection limit', async () => {
    const a = await ts.login('alice');
    const b = await ts.connect();
    await b.run('x LOGIN alice secret', ['* BYE Too many connections for this user', 'x NO [LIMIT] Too many connections for this user']);
    await b.closed();
    a.destroy();
    await ts.server.drained();
  });

  test('per-address connection limit', async () => {
    const open = [await ts.connect(), await ts.connect(), await ts.connect()];
    const extra = await Client.connect(ts.port);
    await extra.expect(['* BYE Too many connections']);
    await extra.closed();
    for (const c of open) c.destroy();
    await ts.server.drained();
  });

  test('commands per connection', async () => {
    const c = await ts.connect();
    await c.run('a NOOP', ['a OK NOOP completed']);
    await c.run('b NOOP', ['b OK NOOP completed']);
    await c.run('c NOOP', ['c OK NOOP completed']);
    await c.run('d NOOP', ['* BYE Too many commands on this connection']);
    await c.closed();
  });

  test('autologout before authentication', async () => {
    const c = await ts.connect();
    await c.expect(['* BYE Autologout; idle for too long']);
    await c.closed();
  });

  test('IDLE keep-alive', async () => {
    const c = await ts.login('bob');
    await c.run('s SELECT INBOX', []);
    await c.until('s');
    await c.run('i IDLE', ['+ idling', '* OK Still here', '* OK Still here']);
    await c.run('DONE', ['i OK IDLE terminated']);
    c.destroy();
  });

  test('graceful shutdown says BYE', async () => {
    const own = await startTestServer();
    const c = await own.connect();
    const closing = own.server.close();
    await c.expect(['* BYE Server shutting down']);
    await c.closed();
    await closing;
    assert.equal(own.server.connectionCount, 0);
    await own.close();
  });
});
