// TLS end to end with the safe default (no plaintext passwords): a certificate
// from `petrel cert self-signed`, implicit TLS (imapflow, curl), STARTTLS on
// the plain port (raw socket, imapflow, curl), and the STARTTLS plaintext
// command injection case (RFC 9051 6.2.1, CERT-555316).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LineReader } from './wire-clients.js';

const run = promisify(execFile);
const HOST = '127.0.0.1';
/**
 * The certificate names "localhost" (the usual development set-up); clients
 * connect to 127.0.0.1 and verify that name (SNI / --resolve). mbsync 1.4
 * checks DNS names only, never IP addresses, so it dials "localhost".
 */
const CERT_NAME = 'localhost';
const MESSAGE = 'From: tls@example.org\r\nTo: erin@example.org\r\nSubject: over TLS\r\n\r\nsecret body\r\n';

/** A line-level IMAP connection whose socket can be swapped for TLS (STARTTLS). */
class Conn {
  reader: LineReader;
  constructor(public socket: Socket) {
    this.reader = new LineReader(socket);
  }

  static async plain(port: number): Promise<Conn> {
    const socket = netConnect({ host: HOST, port });
    await once(socket, 'connect');
    return new Conn(socket);
  }

  static async implicitTls(port: number, ca: Buffer): Promise<Conn> {
    const socket = tlsConnect({ host: HOST, port, ca, servername: CERT_NAME });
    await once(socket, 'secureConnect');
    return new Conn(socket);
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** Lines up to and including the one tagged `tag`. */
  async until(tag: string): Promise<{ tagged: string; untagged: string[] }> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.reader.line();
      if (line.startsWith(`${tag} `)) return { tagged: line.slice(tag.length + 1), untagged };
      untagged.push(line);
    }
  }

  async command(tag: string, text: string): Promise<{ tagged: string; untagged: string[] }> {
    this.send(`${tag} ${text}\r\n`);
    return this.until(tag);
  }

  /** Runs the TLS handshake over the current socket (after a tagged OK to STARTTLS). */
  async upgrade(ca: Buffer): Promise<TLSSocket> {
    const secure = tlsConnect({ socket: this.socket, ca, servername: CERT_NAME });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.reader = new LineReader(secure);
    return secure;
  }

  close(): void {
    this.socket.destroy();
  }
}

function capabilitiesOf(lines: string[]): string[] {
  const line = lines.find((l) => l.startsWith('* CAPABILITY '));
  assert.ok(line, `no CAPABILITY in ${JSON.stringify(lines)}`);
  return line.slice('* CAPABILITY '.length).split(' ');
}

describe('TLS with the safe default (no plaintext passwords)', () => {
  let server: RunningServer;
  let certDir: string;
  let cert: Buffer;
  let certFile: string;

  before(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'petrel-tls-'));
    const made = await runCli({ ...process.env, PETREL_DATA_DIR: certDir }, [
      'cert', 'self-signed', '--out', join(certDir, 'tls'), '--host', CERT_NAME,
    ]);
    assert.equal(made.code, 0, made.stderr);
    certFile = join(certDir, 'tls', 'cert.pem');
    cert = await readFile(certFile);
    server = await startServer({
      users: { erin: 'tls-pass' },
      env: {
        PETREL_IMAPS_LISTEN: `${HOST}:0`,
        PETREL_TLS_CERT: certFile,
        PETREL_TLS_KEY: join(certDir, 'tls', 'key.pem'),
        // Empty counts as unset: the default (plaintext passwords refused) applies.
        PETREL_ALLOW_PLAINTEXT_AUTH: '',
      },
    });
    assert.ok(server.imapsPort, 'the implicit TLS port is listening');
    const delivered = await server.cli(['deliver', 'erin'], MESSAGE);
    assert.equal(delivered.code, 0, delivered.stderr);
  });

  after(async () => {
    await server?.cleanup();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  test('implicit TLS: imapflow trusting the generated certificate logs in and reads the message', async () => {
    const c = new ImapFlow({
      host: HOST,
      port: server.imapsPort!,
      secure: true,
      tls: { ca: cert, servername: CERT_NAME },
      auth: { user: 'erin', pass: 'tls-pass' },
      logger: false,
      disableAutoIdle: true,
    });
    await c.connect();
    try {
      assert.equal(c.secureConnection, true);
      assert.ok(c.authenticated, 'LOGIN over implicit TLS');
      await c.mailboxOpen('INBOX');
      const msg = await c.fetchOne('1', { source: true, envelope: true }, { uid: true });
      assert.ok(msg && msg.source);
      assert.equal(msg.source.toString('utf8'), MESSAGE);
      assert.equal(msg.envelope?.subject, 'over TLS');
    } finally {
      await c.logout();
    }
  });

  test('implicit TLS: a client that does not trust the certificate is refused by its own verification', async () => {
    const socket = tlsConnect({ host: HOST, port: server.imapsPort!, servername: CERT_NAME });
    const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
    socket.destroy();
    assert.equal(err.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  });

  test('implicit TLS: STARTTLS is BAD there; LOGIN works on the raw wire', async () => {
    const c = await Conn.implicitTls(server.imapsPort!, cert);
    try {
      const greeting = await c.reader.line();
      assert.match(greeting, /^\* OK /);
      assert.match((await c.command('a', 'STARTTLS')).tagged, /^BAD /);
      const caps = capabilitiesOf((await c.command('b', 'CAPABILITY')).untagged);
      assert.ok(caps.includes('AUTH=PLAIN') && !caps.includes('LOGINDISABLED') && !caps.includes('STARTTLS'), caps.join(' '));
      assert.match((await c.command('c', 'LOGIN erin tls-pass')).tagged, /^OK /);
      assert.match((await c.command('d', 'LOGOUT')).tagged, /^OK /);
    } finally {
      c.close();
    }
  });

  test('STARTTLS: passwords refused before, capabilities change and LOGIN works after', async () => {
    const c = await Conn.plain(server.imapPort);
    try {
      const greeting = await c.reader.line();
      assert.match(greeting, /^\* OK \[CAPABILITY [^\]]*\bSTARTTLS\b[^\]]*\bLOGINDISABLED\b/);
      const before = capabilitiesOf((await c.command('a1', 'CAPABILITY')).untagged);
      assert.ok(before.includes('STARTTLS'), before.join(' '));
      assert.ok(before.includes('LOGINDISABLED'), before.join(' '));
      assert.ok(!before.some((cap) => cap.startsWith('AUTH=')), `no SASL mechanism before TLS: ${before.join(' ')}`);

      // RFC 9051 6.2.3 / RFC 5530: LOGIN before TLS gets NO [PRIVACYREQUIRED]; so does AUTHENTICATE PLAIN.
      assert.match((await c.command('a2', 'LOGIN erin tls-pass')).tagged, /^NO \[PRIVACYREQUIRED\] /);
      const plainIr = Buffer.from('\0erin\0tls-pass').toString('base64');
      assert.match((await c.command('a3', `AUTHENTICATE PLAIN ${plainIr}`)).tagged, /^NO /);
      // Still not authenticated.
      assert.match((await c.command('a4', 'SELECT INBOX')).tagged, /^BAD /);

      assert.match((await c.command('a5', 'STARTTLS')).tagged, /^OK /);
      const secure = await c.upgrade(cert);
      assert.equal(secure.authorized, true, 'the generated certificate verifies against itself as CA');

      const afterCaps = capabilitiesOf((await c.command('b1', 'CAPABILITY')).untagged);
      assert.ok(!afterCaps.includes('STARTTLS'), afterCaps.join(' '));
      assert.ok(!afterCaps.includes('LOGINDISABLED'), afterCaps.join(' '));
      assert.ok(afterCaps.includes('AUTH=PLAIN'), afterCaps.join(' '));
      assert.match((await c.command('b2', 'STARTTLS')).tagged, /^BAD /, 'a second STARTTLS is BAD');
      assert.match((await c.command('b3', 'LOGIN erin tls-pass')).tagged, /^OK /);
      const selected = await c.command('b4', 'SELECT INBOX');
      assert.match(selected.tagged, /^OK /);
      assert.ok(selected.untagged.includes('* 1 EXISTS'), selected.untagged.join('\n'));
      assert.match((await c.command('b5', 'LOGOUT')).tagged, /^OK /);
    } finally {
      c.close();
    }
  });

  test('STARTTLS: commands pipelined in plaintext after STARTTLS are discarded, not run', async () => {
    const c = await Conn.plain(server.imapPort);
    try {
      await c.reader.line(); // greeting
      // One write, so the server receives the injected command in the same TCP buffer.
      c.send('s1 STARTTLS\r\ninj1 LOGIN erin tls-pass\r\ninj2 CAPABILITY\r\n');
      const started = await c.until('s1');
      assert.match(started.tagged, /^OK /);
      assert.deepEqual(started.untagged, [], 'nothing answered in plaintext besides the STARTTLS reply');
      await c.upgrade(cert);
      // The first tagged reply under TLS must be ours: inj1/inj2 never ran.
      const noop = await c.command('s2', 'NOOP');
      assert.match(noop.tagged, /^OK /);
      assert.ok(!noop.untagged.some((l) => l.startsWith('inj')), noop.untagged.join('\n'));
      // Still not authenticated: the injected LOGIN did not take effect.
      assert.match((await c.command('s3', 'SELECT INBOX')).tagged, /^BAD /);
      const caps = capabilitiesOf((await c.command('s4', 'CAPABILITY')).untagged);
      assert.ok(caps.includes('AUTH=PLAIN'), caps.join(' '));
    } finally {
      c.close();
    }
  });

  test('STARTTLS: imapflow on the plain port upgrades by itself and logs in', async () => {
    const c = new ImapFlow({
      host: HOST,
      port: server.imapPort,
      secure: false,
      doSTARTTLS: true,
      tls: { ca: cert, servername: CERT_NAME },
      auth: { user: 'erin', pass: 'tls-pass' },
      logger: false,
      disableAutoIdle: true,
    });
    await c.connect();
    try {
      assert.equal(c.secureConnection, true, 'imapflow upgraded with STARTTLS');
      assert.ok(c.authenticated);
      const status = await c.status('INBOX', { messages: true });
      assert.ok(status, 'STATUS answered');
      assert.equal(status.messages, 1);
    } finally {
      await c.logout();
    }
  });

  test('curl: imaps:// and imap:// with --ssl-reqd fetch the message, verifying with --cacert', async () => {
    const name = (port: number) => ['--resolve', `${CERT_NAME}:${port}:${HOST}`];
    const auth = ['--user', 'erin:tls-pass', '--silent', '--show-error', '--cacert', certFile];
    const imaps = server.imapsPort!;
    const implicit = await run('curl', [...auth, ...name(imaps), `imaps://${CERT_NAME}:${imaps}/INBOX;UID=1`]);
    assert.equal(implicit.stdout, MESSAGE);
    const plain = server.imapPort;
    const starttls = await run('curl', [...auth, ...name(plain), '--ssl-reqd', `imap://${CERT_NAME}:${plain}/INBOX;UID=1`]);
    assert.equal(starttls.stdout, MESSAGE);
    // Without the CA, curl's own verification fails (exit 60: peer certificate cannot be authenticated).
    await assert.rejects(
      run('curl', ['--user', 'erin:tls-pass', '--silent', ...name(imaps), `imaps://${CERT_NAME}:${imaps}/INBOX;UID=1`]),
      (e: { code?: number }) => e.code === 60,
    );
    // The certificate does not name 127.0.0.1: curl refuses that name even with the CA (exit 60).
    await assert.rejects(
      run('curl', [...auth, `imaps://${HOST}:${imaps}/INBOX;UID=1`]),
      (e: { code?: number }) => e.code === 60,
    );
    // Plain IMAP without TLS: the server offers no way to send the password, so curl cannot log in.
    await assert.rejects(
      run('curl', ['--user', 'erin:tls-pass', '--silent', `imap://${HOST}:${server.imapPort}/INBOX;UID=1`]),
      (e: { code?: number; stdout?: string }) => typeof e.code === 'number' && e.code !== 0 && !e.stdout,
    );
  });

  for (const [sslType, port] of [
    ['IMAPS', () => server.imapsPort!],
    ['STARTTLS', () => server.imapPort],
  ] as const) {
    test(`mbsync with SSLType ${sslType}, verifying the certificate, syncs INBOX`, async () => {
      const work = join(certDir, `mbsync-${sslType}`);
      await mkdir(join(work, 'mail'), { recursive: true });
      const config = join(work, 'mbsyncrc');
      await writeFile(
        config,
        [
          'IMAPAccount petrel', `Host ${CERT_NAME}`, `Port ${port()}`, 'User erin', 'Pass tls-pass',
          `SSLType ${sslType}`, `CertificateFile ${certFile}`, 'AuthMechs LOGIN', '',
          'IMAPStore remote', 'Account petrel', '',
          'MaildirStore local', `Path ${work}/mail/`, `Inbox ${work}/mail/INBOX`, '',
          'Channel sync', 'Far :remote:', 'Near :local:', 'Patterns INBOX', 'Create Near', 'SyncState *', '',
        ].join('\n'),
      );
      const { stdout } = await run('mbsync', ['-c', config, '-D', '-a'], { env: { ...process.env, HOME: work }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
      if (sslType === 'STARTTLS') assert.match(stdout, />>> \d+ STARTTLS/, 'mbsync used STARTTLS');
      // Earlier tests read the message, so it is \Seen: mbsync puts it in cur/.
      const inbox = join(work, 'mail', 'INBOX');
      const files = [
        ...(await readdir(join(inbox, 'new'))).map((f) => join(inbox, 'new', f)),
        ...(await readdir(join(inbox, 'cur'))).map((f) => join(inbox, 'cur', f)),
      ];
      assert.equal(files.length, 1, stdout.slice(-3000));
      const stored = await readFile(files[0]!, 'utf8');
      // mbsync stores LF line ends and adds its X-TUID line.
      assert.match(stored, /^From: tls@example\.org\nTo: erin@example\.org\nSubject: over TLS\nX-TUID: \S{12}\n\nsecret body\n$/);
    });
  }
});
