// The IMAP server: listeners (plain with STARTTLS, implicit TLS), connection
// limits (total, per address, per user: connection-limits.ts), graceful shutdown.
// Both listeners drain their accept queue after each connection Node accepts
// (limits.max_accepts_per_event: src/util/accept-backlog.ts), so a burst of
// clients is greeted in one turn of a busy event loop, not one per turn.

import { mkdirSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { ImapConnection } from './connection.js';
import { ConnectionCounter, type ConnectionLimits } from './connection-limits.js';
import type { ImapServerDeps } from './context.js';
import type { UserSlots } from './session.js';
import { drainAcceptQueue, type AcceptDrainStats } from '../util/accept-backlog.js';

export type { ImapServerDeps } from './context.js';

export class ImapServer {
  private readonly connections = new Set<ImapConnection>();
  private plainServer: net.Server | null = null;
  private tlsServer: tls.Server | null = null;
  private readonly secureContext: tls.SecureContext | null;
  private readonly tlsOptions: { cert: Buffer; key: Buffer } | null;
  private closing = false;
  /** Each listener's accept counters; null where draining is off (no native helper, max_accepts_per_event 0). */
  readonly acceptStats: { imap: AcceptDrainStats | null; imaps: AcceptDrainStats | null } = { imap: null, imaps: null };
  private drainWaiters: Array<() => void> = [];

  private readonly limits: ConnectionLimits;
  /** The per-user half of the limits, as sessions see it. */
  private readonly userSlots: UserSlots;

  /** `limits`: where connections are counted; by default in this process, from the config. */
  constructor(
    private readonly deps: ImapServerDeps,
    limits?: ConnectionLimits,
  ) {
    this.limits = limits ?? new ConnectionCounter(deps.config.limits);
    const counted = this.limits;
    this.userSlots = { acquire: (user) => counted.acquireUser(user), release: (user) => counted.releaseUser(user) };
    const { certFile, keyFile } = deps.config.tls;
    if (certFile && keyFile) {
      this.tlsOptions = { cert: readFileSync(certFile), key: readFileSync(keyFile) };
      this.secureContext = tls.createSecureContext(this.tlsOptions);
    } else {
      this.tlsOptions = null;
      this.secureContext = null;
    }
    // APPEND literals are spooled here.
    mkdirSync(join(deps.config.dataDir, 'tmp'), { recursive: true });
  }

  async listen(): Promise<{ imap: AddressInfo | null; imaps: AddressInfo | null }> {
    const { listen, tlsListen } = this.deps.config.imap;
    let imap: AddressInfo | null = null;
    let imaps: AddressInfo | null = null;
    if (listen) {
      const server = net.createServer((socket) => this.handle(socket, false));
      this.acceptStats.imap = drainAcceptQueue(server, this.deps.config.limits.maxAcceptsPerEvent);
      this.plainServer = server;
      imap = await listenOn(server, listen.host, listen.port);
    }
    if (tlsListen) {
      if (!this.tlsOptions) throw new Error('imap.tlsListen is set but tls.certFile/tls.keyFile are not');
      const server = tls.createServer({ ...this.tlsOptions }, (socket) => this.handle(socket, true));
      server.on('tlsClientError', (e) => this.deps.logger.debug('TLS handshake failed', { err: e.message }));
      this.acceptStats.imaps = drainAcceptQueue(server, this.deps.config.limits.maxAcceptsPerEvent);
      this.tlsServer = server;
      imaps = await listenOn(server, tlsListen.host, tlsListen.port);
    }
    return { imap, imaps };
  }

  /** Serves one already-connected socket (also used by tests). */
  handle(socket: net.Socket, secure: boolean): void {
    socket.setNoDelay(true);
    const ip = socket.remoteAddress ?? 'unknown';
    const refuse = (why: string): void => {
      socket.on('error', () => {});
      socket.end(`* BYE ${why}\r\n`);
    };
    if (this.closing) return refuse('Server shutting down');
    const admitted = this.limits.admit(ip);
    if (admitted === true) return this.serve(socket, secure, ip);
    if (admitted === false) return refuse('Too many connections');
    // Limits kept by the supervising process: nothing is read from the socket until it answers.
    socket.on('error', () => {});
    admitted.then(
      (ok) => {
        if (ok && !this.closing && !socket.destroyed) return this.serve(socket, secure, ip);
        if (ok) this.limits.leave(ip);
        refuse(ok ? 'Server shutting down' : 'Too many connections');
      },
      (err: unknown) => {
        this.deps.logger.error('connection limits unavailable', { err: err instanceof Error ? err : String(err) });
        refuse('Server unavailable');
      },
    );
  }

  private serve(socket: net.Socket, secure: boolean, ip: string): void {
    const limits = this.limits;
    const conn = new ImapConnection(socket, {
      deps: this.deps,
      secure,
      secureContext: this.secureContext,
      slots: this.userSlots,
      onClose: (c) => {
        this.connections.delete(c);
        if (this.connections.size === 0) for (const w of this.drainWaiters.splice(0)) w();
        limits.leave(ip);
      },
    });
    this.connections.add(conn);
    conn.start();
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Resolves once no connection is open (tests, and operators waiting for clients to leave). */
  drained(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops listening, says BYE to every client and waits for them to go. */
  async close(): Promise<void> {
    this.closing = true;
    const servers = [this.plainServer, this.tlsServer].filter((s): s is net.Server => s !== null);
    const stopped = servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await Promise.all([...this.connections].map((c) => c.shutdown()));
    await Promise.all(stopped);
    this.plainServer = null;
    this.tlsServer = null;
  }
}

function listenOn(server: net.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
