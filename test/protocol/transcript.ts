// Transcript test harness: a real ImapServer (port 0) over a real SQLite
// store (or another repository a test opens) and filesystem blob store in a
// temp dir, and a raw client that sends bytes and checks the exact bytes
// that come back, line by line.
//
// Expected lines may use placeholders for truly variable values only:
//   %d  a number            %s  a run of non-space characters
//   %t  a quoted date-time   ("22-Nov-2026 04:50:55 +0000")

import { singleRepository } from '../../src/mail/repository.js';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { defaultConfig } from '../../src/config/defaults.js';
import type { PetrelConfig } from '../../src/config/types.js';
import { ImapServer } from '../../src/imap/server.js';
import { InProcessEventBus } from '../../src/mail/events.js';
import { Ingest } from '../../src/mail/ingest.js';
import type { MailEvent } from '../../src/mail/types.js';
import { openSqliteRepository, type SqliteRepository } from '../../src/store/sqlite/index.js';
import { openPostgresRepository } from '../../src/store/postgres/index.js';
import { startPostgres, type PostgresInstance } from '../support/postgres.js';
import type { ByteRange, Directory, MailStore } from '../../src/mail/ports.js';
import { silentLogger } from '../../src/util/log.js';
import { PlaintextTestAuthenticator } from './plaintext-test-authenticator.js';
import { createTestCertificate } from '../support/certificate.js';

/** What a test server needs of a repository (startTestServer's `repository` option). */
export interface TestRepository {
  store: MailStore;
  directory: Directory;
  close(): Promise<void>;
}

export interface TestServer<R extends TestRepository = SqliteRepository> {
  server: ImapServer;
  port: number;
  /** The implicit-TLS port, with the `tls` option. */
  tlsPort: number | undefined;
  dir: string;
  config: PetrelConfig;
  repo: R;
  blobs: FsBlobStore;
  events: InProcessEventBus;
  ingest: Ingest;
  /** A connected client that has read the greeting. */
  connect(): Promise<Client>;
  /** A client logged in as `user` (password "secret"), greeting and LOGIN consumed. */
  login(user?: string): Promise<Client>;
  /** Delivers a message to a mailbox as LMTP would. */
  deliver(user: string, mailbox: string, message: string | Buffer, flags?: string[]): Promise<number>;
  /** Resolves at the next mailbox-changed event (for waits without sleeps). */
  nextEvent(pred?: (e: MailEvent) => boolean): Promise<MailEvent>;
  close(): Promise<void>;
}

export async function startTestServer<R extends TestRepository = SqliteRepository>(
  options: {
    users?: string[];
    configure?: (c: PetrelConfig) => void;
    /** The repository to serve (opened in the test's temp dir if it wants one); default SQLite there. */
    repository?: (dir: string) => Promise<R>;
    /** A self-signed certificate (removed at close), STARTTLS and an implicit-TLS listener; before `configure`. */
    tls?: boolean;
  } = {},
): Promise<TestServer<R>> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-imap-'));
  const config = defaultConfig();
  config.dataDir = dir;
  config.hostname = 'petrel.test';
  config.imap.listen = { host: '127.0.0.1', port: 0 };
  config.imap.allowPlaintextAuth = true;
  config.storage.fsync = false;
  const certificate = options.tls ? await createTestCertificate() : null;
  if (certificate) {
    config.tls = { certFile: certificate.cert, keyFile: certificate.key };
    config.imap.tlsListen = { host: '127.0.0.1', port: 0 };
  }
  options.configure?.(config);
  // Without `repository`, R is its default, SqliteRepository.
  const repo = options.repository ? await options.repository(dir) : (openSqliteRepository(join(dir, 'petrel.db'), { fsync: false }) as unknown as R);
  const blobs = new FsBlobStore(dir, { fsync: false });
  const events = new InProcessEventBus();
  const ingest = new Ingest({ store: repo.store, blobs, events, maxMessageSize: config.limits.maxMessageSize });
  for (const user of options.users ?? ['alice']) await repo.directory.createAccount(user, 'plain:secret');
  const server = new ImapServer({
    config,
    directory: repo.directory,
    repositories: singleRepository(repo.directory, { store: repo.store, blobs, ingest, events }),
    events,
    auth: new PlaintextTestAuthenticator(repo.directory),
    logger: silentLogger,
  });
  const { imap, imaps } = await server.listen();
  const port = imap!.port;
  const clients: Client[] = [];
  const ts: TestServer<R> = {
    server,
    port,
    tlsPort: imaps?.port,
    dir,
    config,
    repo,
    blobs,
    events,
    ingest,
    async connect() {
      const c = await Client.connect(port);
      clients.push(c);
      await c.expectMatch(/^\* OK \[CAPABILITY [^\]]+\] Petrel ready$/);
      return c;
    },
    async login(user = 'alice') {
      const c = await ts.connect();
      c.send(`L1 LOGIN ${user} secret\r\n`);
      await c.expectMatch(/^L1 OK \[CAPABILITY [^\]]+\] Logged in$/);
      return c;
    },
    async deliver(user, mailbox, message, flags = []) {
      const account = await repo.directory.findAccount(user);
      const data = Buffer.isBuffer(message) ? message : Buffer.from(message.replace(/\r?\n/g, '\r\n'));
      const r = await ingest.deliver(account!.id, mailbox, (async function* () { yield data; })(), { flags });
      return r.uids[0]!;
    },
    nextEvent(pred = () => true) {
      return new Promise((resolve) => {
        const off = events.subscribe((e) => {
          if (!pred(e)) return;
          off();
          resolve(e);
        });
      });
    },
    async close() {
      for (const c of clients) c.destroy();
      await server.close();
      await events.close();
      await repo.close();
      await blobs.close();
      await certificate?.remove();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return ts;
}

/**
 * startTestServer's `repository` for each backend: SQLite in the test's
 * directory, or a new database on a private PostgreSQL that the calling
 * file starts before its tests and stops after them (call at top level).
 */
export function bothBackends(): Record<'sqlite' | 'postgres', (dir: string) => Promise<TestRepository>> {
  let pg: PostgresInstance;
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    await pg.stop();
  });
  return {
    sqlite: async (dir) => openSqliteRepository(join(dir, 'petrel.db'), { fsync: false }),
    postgres: async () => openPostgresRepository(await pg.createDatabase()),
  };
}

/**
 * Records every read the server makes through the BlobStore port (blob id
 * and range) into the returned array: the tests that prove metadata FETCH
 * items come from the stored index, never from the blob.
 */
export function recordBlobReads(blobs: FsBlobStore): Array<{ blobId: string; range: ByteRange | undefined }> {
  const reads: Array<{ blobId: string; range: ByteRange | undefined }> = [];
  const read = blobs.read.bind(blobs);
  const readBuffer = blobs.readBuffer.bind(blobs);
  blobs.read = (blobId, range) => {
    reads.push({ blobId, range });
    return read(blobId, range);
  };
  blobs.readBuffer = (blobId, range) => {
    reads.push({ blobId, range });
    return readBuffer(blobId, range);
  };
  return reads;
}

/** A message with CRLF line ends. */
/** The capabilities of the untagged CAPABILITY answering a command tagged "cap". */
export async function capabilityList(c: Client): Promise<string[]> {
  const lines = await c.until('cap');
  const caps = lines.find((l) => l.startsWith('* CAPABILITY '));
  if (!caps) throw new Error(`no untagged CAPABILITY in ${JSON.stringify(lines)}`);
  return caps.split(' ').slice(2);
}

export function message(lines: string[]): string {
  return lines.join('\r\n') + '\r\n';
}

function placeholderRegex(expected: string): RegExp {
  let re = '';
  for (let i = 0; i < expected.length; i++) {
    const ch = expected[i]!;
    if (ch === '%' && i + 1 < expected.length) {
      const p = expected[i + 1];
      if (p === 'd') re += '\\d+';
      else if (p === 's') re += '\\S+';
      else if (p === 't') re += '"\\d{2}-[A-Z][a-z]{2}-\\d{4} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}"';
      else re += '%' + p!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      i++;
      continue;
    }
    re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$', 's');
}

export class Client {
  private buf = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  private ended = false;
  readonly received: string[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Wraps an already-connected socket (e.g. a TLS socket). */
  static over(socket: net.Socket): Client {
    return new Client(socket);
  }

  /** Client side of STARTTLS: hands the socket to TLS and returns a client on top of it. */
  async startTls(): Promise<Client> {
    this.socket.removeAllListeners('data');
    const secure = tls.connect({ socket: this.socket, rejectUnauthorized: false, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    return new Client(secure);
  }

  static connect(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  send(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Next CRLF-terminated line (without CRLF). Fails after `timeoutMs` (a generous safety net, not a sync). */
  async line(timeoutMs = 10000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString('utf8');
        this.buf = this.buf.subarray(i + 2);
        this.received.push(line);
        return line;
      }
      if (this.ended) throw new Error(`connection closed; pending: ${JSON.stringify(this.buf.toString())}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a line; received so far:\n${this.received.join('\n')}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Exactly these lines next, in order (placeholders allowed). */
  async expect(lines: string[]): Promise<void> {
    for (const expected of lines) {
      const got = await this.line();
      assert.match(got, placeholderRegex(expected), `expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
    }
  }

  async expectMatch(re: RegExp): Promise<string> {
    const got = await this.line();
    assert.match(got, re);
    return got;
  }

  /** Sends `command` + CRLF and checks the lines that follow (usually up to the tagged line). */
  async run(command: string, lines: string[]): Promise<void> {
    this.send(command + '\r\n');
    await this.expect(lines);
  }

  /** Reads lines until the tagged completion of `tag`; returns them all. */
  async until(tag: string): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l.startsWith(tag + ' ')) return out;
    }
  }

  /** Resolves when the server closes the connection. */
  async closed(timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('connection not closed');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Nothing more is buffered right now. */
  get pending(): string {
    return this.buf.toString('utf8');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
