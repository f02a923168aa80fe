// A local notification channel for the embedded mode. The server listens on
// a unix socket in its data directory; a CLI process that changed the shared
// SQLite file (petrel deliver, user passwd, mailbox create ...) connects,
// writes one JSON MailEvent per line and closes. The server publishes each
// event on its EventBus so sessions look again at once. Events are hints: if
// no server runs, or a line is lost, the next NOOP/IDLE poll heals it.

import { DEFAULT_REPOSITORY } from './repository.js';
import { chmod, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { EventBus } from './ports.js';
import type { MailEvent } from './types.js';
import type { Logger } from '../util/log.js';

export const CONTROL_SOCKET_NAME = 'petrel.sock';

/** Longest accepted line: events are tiny; anything bigger is not ours. */
const MAX_LINE = 4096;
/** A client that connects and says nothing is dropped after this long. */
const CLIENT_TIMEOUT_MS = 5000;

export function controlSocketPath(dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME);
}

/** Validates a decoded JSON value as a MailEvent (the socket is local, but still untrusted input). */
export function parseMailEvent(value: unknown): MailEvent | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const isId = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;
  // Events from an older CLI carry no repository: they can only be about the default one.
  const repository = v.repository === undefined ? DEFAULT_REPOSITORY : v.repository;
  if (typeof repository !== 'string' || repository.length === 0) return null;
  switch (v.kind) {
    case 'mailbox-changed':
      return isId(v.accountId) && isId(v.mailboxId) && isId(v.modseq)
        ? { kind: 'mailbox-changed', repository, accountId: v.accountId, mailboxId: v.mailboxId, modseq: v.modseq }
        : null;
    case 'mailboxes-changed':
      return isId(v.accountId) ? { kind: 'mailboxes-changed', repository, accountId: v.accountId } : null;
    case 'account-changed':
      return typeof v.accountName === 'string' && v.accountName.length > 0
        ? { kind: 'account-changed', accountName: v.accountName }
        : null;
    case 'rights-changed':
      return isId(v.accountId) && typeof v.identifier === 'string' && v.identifier.length > 0
        ? { kind: 'rights-changed', repository, accountId: v.accountId, identifier: v.identifier }
        : null;
    default:
      return null;
  }
}

export interface ControlSocketDeps {
  dataDir: string;
  /** Where the CLI's events are published (the server's bus; a supervisor's relay to its workers). */
  events: Pick<EventBus, 'publish'>;
  logger: Logger;
  /** Called for 'account-changed' (e.g. Authenticator.invalidate). */
  onAccountChanged?: (name: string) => void;
}

export class ControlSocketServer {
  private server: Server | null = null;
  private readonly clients = new Set<Socket>();
  readonly path: string;

  constructor(private readonly deps: ControlSocketDeps) {
    this.path = controlSocketPath(deps.dataDir);
  }

  async listen(): Promise<string> {
    // A socket file left by a crashed server would make listen() fail with EADDRINUSE.
    await rm(this.path, { force: true });
    const server = createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.deps.logger.error('control socket error', { err }));
    this.server = server;
    await chmod(this.path, 0o600);
    return this.path;
  }

  private accept(socket: Socket): void {
    this.clients.add(socket);
    socket.setTimeout(CLIENT_TIMEOUT_MS, () => socket.destroy());
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let newline: number;
      while ((newline = pending.indexOf(0x0a)) >= 0) {
        this.handleLine(pending.subarray(0, newline));
        pending = pending.subarray(newline + 1);
      }
      if (pending.length > MAX_LINE) {
        this.deps.logger.warn('control socket: line too long, closing');
        socket.destroy();
      }
    });
    socket.on('end', () => {
      if (pending.length) this.handleLine(pending);
      socket.end();
    });
  }

  private handleLine(line: Buffer): void {
    if (line.length === 0) return;
    let event: MailEvent | null = null;
    try {
      event = parseMailEvent(JSON.parse(line.toString('utf8')));
    } catch {
      event = null;
    }
    if (!event) {
      this.deps.logger.warn('control socket: ignored malformed event');
      return;
    }
    this.deps.logger.debug('control socket event', { event: event.kind });
    if (event.kind === 'account-changed') this.deps.onAccountChanged?.(event.accountName);
    this.deps.events.publish(event);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const client of this.clients) client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(this.path, { force: true });
  }
}

/**
 * Tells a running server about changes made by this process. Resolves once
 * the server has read the events (it closes its end), or at once when no
 * server runs: a missing server is not an error.
 */
export async function notifyServer(dataDir: string, events: MailEvent[]): Promise<void> {
  if (events.length === 0) return;
  const payload = events.map((e) => JSON.stringify(e) + '\n').join('');
  await new Promise<void>((resolve) => {
    const socket = createConnection(controlSocketPath(dataDir));
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(CLIENT_TIMEOUT_MS, done);
    socket.once('error', done); // ENOENT / ECONNREFUSED: no server running
    socket.once('connect', () => socket.end(payload));
    socket.once('close', done);
    socket.resume(); // the server answers nothing; read so that 'end' and 'close' arrive
  });
}
