// Socket I/O of one IMAP connection: bytes into the framer, literal
// decisions (memory, staged into the ingest pipeline, refuse before reading),
// commands to the session one at a time and in order, responses to the socket
// with backpressure (small responses of one tick are joined into one write),
// STARTTLS, COMPRESS=DEFLATE, autologout timers and the command limit.
//
// `socket` is whatever carries the bytes now: the TCP socket, a TLS socket
// (implicit TLS or after STARTTLS), or a DeflateStream around either of
// them after COMPRESS; each upgrade wraps the previous stream.

import { carriesMessageLiterals } from '../protocol/imap/catenate-literal.js';
import type net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Command, SpooledLiteral } from '../protocol/imap/ast.js';
import { CommandFramer } from '../protocol/imap/framer.js';
import type { FrameEvent } from '../protocol/imap/framing-types.js';
import { parseCommand } from '../protocol/imap/parser/index.js';
import type { Response, WirePart } from '../protocol/imap/response.js';
import { serializeResponses } from '../protocol/imap/serializer.js';
import type { Logger } from '../util/log.js';
import { DeflateStream } from './compression.js';
import type { ImapServerDeps } from './context.js';
import { Session, type SessionIO, type UserSlots } from './session.js';
import { LiteralStager } from './spool.js';
import { enablePooledReads, PooledReads } from '../util/pooled-reads.js';
import { quickAck } from '../util/tcp-quickack.js';
import { metadataTooBig } from './metadata.js';

/**
 * RFC 7888 LITERAL+: non-synchronizing literals of any size reach onLiteral,
 * which streams APPEND data into the ingest and refuses what is over the
 * limits with [TOOBIG] (the framer then reads and discards the bytes).
 */
const MAX_NON_SYNC_LITERAL = 0xffffffff;
const MAX_TAG_LENGTH = 256;
/** Stop reading from the socket when this much is buffered and not yet framed. */
const MIN_READ_BUFFER = 256 * 1024;
/** Small responses are joined into one socket write up to this size (else at the end of the tick). */
const WRITE_JOIN_LIMIT = 64 * 1024;
const RESOLVED = Promise.resolve();

export interface ConnectionOptions {
  deps: ImapServerDeps;
  secure: boolean;
  /** For STARTTLS; null when no certificate is configured. */
  secureContext: tls.SecureContext | null;
  slots: UserSlots;
  onClose: (conn: ImapConnection) => void;
}

export class ImapConnection implements SessionIO {
  readonly remoteAddress: string;
  readonly remotePort: number | null;
  secure: boolean;
  /** COMPRESS=DEFLATE is active (SessionIO). */
  compressed = false;
  readonly session: Session;
  private socket: Duplex;
  /** The accepted TCP socket (under TLS or COMPRESS when those are on). */
  private readonly tcpSocket: net.Socket;
  /** Set once the TCP socket reads into pooled blocks (pooled-reads.ts). */
  private pooled: PooledReads | null = null;
  /** Bytes pushed to the framer so far. */
  private pushedBytes = 0;
  private readonly framer: CommandFramer;
  private readonly deps: ImapServerDeps;
  private readonly log: Logger;
  private readonly readBufferLimit: number;
  /** A command is executing: the next one waits. */
  private running = false;
  private pumping = false;
  private pumpRequested = false;
  private lineWaiter: ((line: Buffer | null) => void) | null = null;
  /** APPEND literal being staged while it arrives, and those finished for the command being framed. */
  private spool: LiteralStager | null = null;
  private spools: SpooledLiteral[] = [];
  private writeChain: Promise<void> = Promise.resolve();
  /** Writes waiting in writeChain (behind a streamed literal); while > 0 everything queues there, in order. */
  private chainedWrites = 0;
  /** Output joined until the end of the tick or WRITE_JOIN_LIMIT. */
  private outBufs: Buffer[] = [];
  private outSize = 0;
  private flushScheduled = false;
  private drainWaiters: Array<() => void> = [];
  private closed = false;
  private paused = false;
  private timer: NodeJS.Timeout | null = null;
  /** Duration the timer was set for: while unchanged, resetTimer() only refreshes it. */
  private timerSeconds = 0;
  private commandCount = 0;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    socket: net.Socket,
    private readonly options: ConnectionOptions,
  ) {
    this.socket = socket;
    this.tcpSocket = socket;
    this.deps = options.deps;
    this.secure = options.secure;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.remotePort = socket.remotePort ?? null;
    const limits = this.deps.config.limits;
    this.framer = new CommandFramer({
      maxLineLength: limits.maxLineLength,
      maxMemoryLiteral: limits.maxMemoryLiteral,
      maxNonSyncLiteral: MAX_NON_SYNC_LITERAL,
      maxTagLength: MAX_TAG_LENGTH,
    });
    this.readBufferLimit = Math.max(MIN_READ_BUFFER, limits.maxLineLength + 2 * limits.maxMemoryLiteral);
    this.session = new Session(this.deps, this, options.slots);
    // The session's logger has the same fields: one child logger per connection, not two.
    this.log = this.session.log;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.attach(socket);
  }

  /** Sends the greeting and starts reading. */
  start(): void {
    const caps = this.session.capabilities();
    void this.send([{ kind: 'status', status: 'OK', code: { kind: 'CAPABILITY', capabilities: caps }, text: 'Petrel ready' }]);
    this.resetTimer();
  }

  /** Resolves once the socket is closed. */
  get done(): Promise<void> {
    return this.closedPromise;
  }

  // ---------- SessionIO ----------

  send(responses: Response[]): Promise<void> {
    return this.enqueueWrite(serializeResponses(responses, this.session.serializeOptions));
  }

  readLine(): Promise<Buffer | null> {
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.lineWaiter = resolve;
      this.pump();
    });
  }

  // ---------- shutdown ----------

  /** Server shutdown: BYE, then close once the output is flushed. */
  async shutdown(text = 'Server shutting down'): Promise<void> {
    if (this.closed) return;
    await this.send([{ kind: 'status', status: 'BYE', text }]).catch(() => {});
    this.close();
    await this.closedPromise;
  }

  /** Ends the connection after the queued output. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearTimer();
    const sock = this.socket;
    void this.writeChain.finally(() => {
      this.flushOut();
      sock.end();
      // A peer that never reads must not keep us waiting forever.
      setTimeout(() => sock.destroy(), 5000).unref();
    });
    this.cleanup();
  }

  private cleanup(): void {
    this.lineWaiter?.(null);
    this.lineWaiter = null;
    for (const w of this.drainWaiters.splice(0)) w();
    this.session.dispose();
    void this.spool?.abort();
    this.spool = null;
    void this.disposeSpools(this.spools.splice(0));
    // Nothing frames any more: the framer's pooled views are released (a literal chunk still staging keeps its block).
    this.framer.reset();
    this.pooled?.dispose();
  }

  // ---------- reading ----------

  private readonly onData = (chunk: Buffer): void => {
    if (this.closed) return;
    this.pooled?.skip(chunk.length);
    this.pushedBytes += chunk.length;
    this.framer.push(chunk);
    this.afterRead();
  };

  /** A read of the TCP socket in pooled mode: `bytes` are valid only during the call. */
  private readonly onPooledRead = (bytes: Buffer): boolean => {
    if (this.closed) return true; // dropped, as onData drops them
    if (this.compressed) {
      // COMPRESS reads the TCP socket as a stream (DeflateStream): hand it a copy the ordinary way.
      return this.tcpSocket.push(Buffer.from(bytes));
    }
    this.pushedBytes += bytes.length;
    this.framer.push(this.pooled!.store(bytes, bytes.length));
    this.afterRead();
    return !this.paused;
  };

  private afterRead(): void {
    this.resetTimer();
    this.updateFlowControl();
    this.pump();
  }

  /**
   * Big literals come: read the TCP socket into pooled blocks from now on.
   * Only plaintext TCP, and only once logged in: STARTTLS (not
   * authenticated state only) never wraps a socket in pooled mode.
   */
  private usePooledReads(): void {
    if (this.pooled || this.secure || this.compressed || this.socket !== this.tcpSocket || !this.session.account) return;
    if (this.tcpSocket instanceof tls.TLSSocket) return;
    const pooled = new PooledReads(this.pushedBytes);
    if (enablePooledReads(this.tcpSocket, this.onPooledRead)) this.pooled = pooled;
  }

  private readonly onEnd = (): void => {
    this.close();
  };

  private readonly onSocketClose = (): void => {
    if (!this.closed) {
      this.closed = true;
      this.clearTimer();
      this.cleanup();
    }
    for (const w of this.drainWaiters.splice(0)) w();
    this.options.onClose(this);
    this.resolveClosed();
  };

  private readonly onError = (e: Error): void => {
    this.log.debug('socket error', { err: e.message });
  };

  private readonly onDrain = (): void => {
    for (const w of this.drainWaiters.splice(0)) w();
  };

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onError);
    socket.on('drain', this.onDrain);
  }

  private detach(socket: Duplex): void {
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onSocketClose);
    socket.off('drain', this.onDrain);
  }

  private updateFlowControl(): void {
    const tooMuch = this.framer.buffered > this.readBufferLimit;
    if (tooMuch && !this.paused) {
      this.paused = true;
      this.socket.pause();
    } else if (!tooMuch && this.paused && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }

  private pump(): void {
    this.pumpRequested = true;
    if (this.pumping) return;
    this.pumping = true;
    void (async () => {
      try {
        while (this.pumpRequested && !this.closed) {
          this.pumpRequested = false;
          await this.drainEvents();
        }
      } catch (e) {
        this.log.error('connection failure', { err: e instanceof Error ? e : String(e) });
        this.socket.destroy();
      } finally {
        this.pumping = false;
      }
      this.updateFlowControl();
    })();
  }

  /** Handles framer events until more bytes are needed or a command is running. */
  private async drainEvents(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      if (this.running && !this.lineWaiter) return;
      const ev = this.framer.next();
      // A literal chunk's bytes are consumed already: hold its pooled block before the framer's views are released.
      const release = ev?.kind === 'literal-chunk' ? (this.pooled?.hold(ev.data) ?? null) : null;
      this.pooled?.consumedTo(this.framer.consumed);
      if (!ev) return;
      if (this.lineWaiter) {
        release?.();
        this.deliverLine(ev);
        continue;
      }
      switch (ev.kind) {
        case 'literal':
          await this.onLiteral(ev);
          break;
        case 'literal-chunk':
          if (this.spool) await this.spool.write(ev.data, release ?? undefined);
          else release?.();
          break;
        case 'literal-end': {
          const spool = this.spool;
          this.spool = null;
          if (!spool) throw new Error('literal-end without a spool');
          const lit = await spool.finish();
          this.spools.push(lit);
          this.framer.finishStreamedLiteral(lit);
          break;
        }
        case 'error':
          await this.disposeSpools(this.spools.splice(0));
          await this.sendTagged(ev.tag, 'BAD', ev.text, ev.tooBig ? 'TOOBIG' : undefined);
          if (ev.fatal) {
            await this.send([{ kind: 'status', status: 'BYE', text: 'Protocol error' }]);
            this.close();
            return;
          }
          break;
        case 'command':
          this.onCommand(ev);
          break;
      }
    }
  }

  /** IDLE and AUTHENTICATE read raw lines; anything that is not a plain line reads as unusable (""). */
  private deliverLine(ev: FrameEvent): void {
    const w = this.lineWaiter!;
    if (ev.kind === 'literal') {
      this.framer.rejectLiteral();
      return;
    }
    if (ev.kind !== 'command' && ev.kind !== 'error') return;
    this.lineWaiter = null;
    if (ev.kind === 'command' && ev.line) w(ev.line);
    else w(Buffer.from('*'));
  }

  private async onLiteral(ev: Extract<FrameEvent, { kind: 'literal' }>): Promise<void> {
    const limits = this.deps.config.limits;
    // Message data (APPEND, RFC 8508 REPLACE, CATENATE TEXT parts) is staged while it arrives;
    // a CATENATE URL sent as a literal is a string for the parser, held in memory.
    if (carriesMessageLiterals(ev.command) && !ev.catenateUrl) {
      // Nobody may make us spool a message before logging in.
      if (!this.session.account) {
        this.framer.rejectLiteral();
        await this.disposeSpools(this.spools.splice(0));
        await this.sendBad(ev.tag, `${ev.command} not allowed in the not authenticated state`);
        return;
      }
      if (ev.size > limits.maxMessageSize) {
        this.framer.rejectLiteral();
        await this.disposeSpools(this.spools.splice(0));
        await this.sendTagged(ev.tag, 'NO', `Message too large (limit ${limits.maxMessageSize} octets)`, 'TOOBIG');
        return;
      }
      // Staged in the account's own repository; the APPEND commit copies to another if the target is there.
      this.spool = new LiteralStager(this.session.home.ingest, this.session.home.blobs, limits.maxMessageSize, ev.binary);
      this.framer.acceptLiteral('stream');
      this.usePooledReads();
    } else {
      // RFC 5464 4.3: a SETMETADATA value over the limit is NO [METADATA MAXSIZE n], refused before it is read.
      if (ev.command === 'SETMETADATA' && ev.tag !== null && this.session.account && ev.size > limits.maxMetadataValueSize) {
        this.framer.rejectLiteral();
        await this.disposeSpools(this.spools.splice(0));
        const r = metadataTooBig(limits.maxMetadataValueSize);
        await this.send([{ kind: 'tagged', tag: ev.tag, status: r.status, ...(r.code ? { code: r.code } : {}), text: r.text }]);
        return;
      }
      if (ev.size > limits.maxMemoryLiteral) {
        this.framer.rejectLiteral();
        await this.disposeSpools(this.spools.splice(0));
        await this.sendTagged(ev.tag, 'BAD', `Literal too large (limit ${limits.maxMemoryLiteral} octets)`, 'TOOBIG');
        return;
      }
      this.framer.acceptLiteral('memory');
    }
    if (ev.synchronizing) await this.send([{ kind: 'continuation', text: 'Ready for literal' }]);
  }

  private onCommand(ev: Extract<FrameEvent, { kind: 'command' }>): void {
    const spools = this.spools.splice(0);
    if (ev.line && ev.line.length === 0) return; // an empty line: nothing to answer
    if (ev.tag === null) {
      void this.disposeSpools(spools);
      void this.sendBad(null, 'Missing or invalid tag');
      return;
    }
    const parsed = parseCommand(ev.parts);
    if (!parsed.ok) {
      void this.disposeSpools(spools);
      void this.sendBad(parsed.tag ?? ev.tag, parsed.text);
      return;
    }
    const max = this.deps.config.limits.maxCommandsPerConnection;
    if (max > 0 && ++this.commandCount > max) {
      void this.disposeSpools(spools);
      void this.send([{ kind: 'status', status: 'BYE', text: 'Too many commands on this connection' }]);
      this.close();
      return;
    }
    this.running = true;
    void this.run(parsed.tag, parsed.command, spools);
  }

  private async run(tag: string, command: Command, spools: SpooledLiteral[]): Promise<void> {
    try {
      // Earlier output first, so that the tagged OK is the last plain write before the switch.
      if (command.name === 'COMPRESS') await this.writeChain;
      const result = await this.session.execute(tag, command);
      if (result.after === 'starttls' && result.status === 'OK') await this.startTls();
      if (result.after === 'compress' && result.status === 'OK') await this.startCompression();
      if (result.after === 'logout') this.close();
    } catch (e) {
      this.log.error('command failed', { command: command.name, err: e instanceof Error ? e : String(e) });
      this.socket.destroy();
    } finally {
      await this.disposeSpools(spools);
      this.running = false;
      this.resetTimer();
      this.pump();
    }
  }

  private async disposeSpools(spools: SpooledLiteral[]): Promise<void> {
    for (const s of spools) await s.dispose().catch(() => {});
  }

  private sendBad(tag: string | null, text: string): Promise<void> {
    return this.sendTagged(tag, 'BAD', text);
  }

  private sendTagged(tag: string | null, status: 'BAD' | 'NO', text: string, code?: 'TOOBIG'): Promise<void> {
    const c = code ? { code: { kind: code } as const } : {};
    const r: Response = tag ? { kind: 'tagged', tag, status, text, ...c } : { kind: 'status', status, text, ...c };
    return this.send([r]);
  }

  // ---------- STARTTLS ----------

  private async startTls(): Promise<void> {
    const ctx = this.options.secureContext;
    if (!ctx) return;
    await this.writeChain;
    // The tagged OK goes out in plaintext, before the handshake.
    this.flushOut();
    const plain = this.socket;
    this.detach(plain);
    plain.pause();
    // Bytes sent after STARTTLS and before the handshake are a plaintext injection: drop them.
    this.framer.reset();
    this.pooled?.consumedTo(this.framer.consumed);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext: ctx });
    this.socket = secure;
    this.secure = true;
    this.paused = false;
    this.attach(secure);
  }

  // ---------- COMPRESS ----------

  private async startCompression(): Promise<void> {
    await this.writeChain;
    // RFC 4978 3: compression starts right after the CRLF of the tagged OK,
    // which goes out uncompressed now. Nothing else is written in between.
    this.flushOut();
    const inner = this.socket;
    this.detach(inner);
    // The client may send nothing after COMPRESS before it sees our OK, so
    // bytes already buffered were sent uncompressed in breach of RFC 4978 3
    // and cannot be mixed with the compressed stream: drop them, as STARTTLS does.
    if (this.framer.buffered > 0) this.log.info('COMPRESS: dropping bytes pipelined after COMPRESS', { bytes: this.framer.buffered });
    this.framer.reset();
    this.pooled?.consumedTo(this.framer.consumed);
    const stream = new DeflateStream(inner, {
      onInflateError: (err) => this.log.warn('COMPRESS: invalid compressed data from the client, closing', { err: err.message }),
    });
    this.socket = stream;
    this.compressed = true;
    this.paused = false;
    this.attach(stream);
  }

  // ---------- writing ----------

  private enqueueWrite(parts: WirePart[]): Promise<void> {
    // Fast path: only buffers and nothing streaming ahead of them.
    if (this.chainedWrites === 0 && parts.every((p) => Buffer.isBuffer(p))) {
      for (const p of parts) this.bufferOut(p as Buffer);
      return this.backpressure();
    }
    this.chainedWrites++;
    const p = this.writeChain.then(() => this.writeParts(parts)).finally(() => this.chainedWrites--);
    this.writeChain = p.catch((e: unknown) => {
      this.log.warn('write failed', { err: e instanceof Error ? e.message : String(e) });
      this.socket.destroy();
    });
    return this.writeChain;
  }

  /** Resolves when more may be written: at once unless the socket's buffer is full. */
  private backpressure(): Promise<void> {
    const sock = this.socket;
    if (!sock.writableNeedDrain || sock.destroyed) return RESOLVED;
    return new Promise<void>((resolve) => this.drainWaiters.push(resolve));
  }

  private bufferOut(buf: Buffer): void {
    // After close() the socket is ending: late output (a command finishing) is dropped.
    if (this.socket.destroyed || this.socket.writableEnded || buf.length === 0) return;
    this.outBufs.push(buf);
    this.outSize += buf.length;
    if (this.outSize >= WRITE_JOIN_LIMIT) this.flushOut();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushOut);
    }
  }

  /** Writes the joined output now. */
  private readonly flushOut = (): void => {
    this.flushScheduled = false;
    if (this.outBufs.length === 0) return;
    const buf = this.outBufs.length === 1 ? this.outBufs[0]! : Buffer.concat(this.outBufs, this.outSize);
    this.outBufs = [];
    this.outSize = 0;
    const sock = this.socket;
    if (sock.destroyed || sock.writableEnded) return;
    // What the client sends next (a literal after our "+") is acknowledged at once: src/util/tcp-quickack.ts.
    // The option must follow the bytes onto the socket (sending turns delayed ACKs back on): with
    // COMPRESS the deflate stream writes them later, so it is set in the write's callback.
    if (this.compressed) sock.write(buf, this.quickAckAfterWrite);
    else {
      sock.write(buf);
      quickAck(this.tcpSocket);
    }
  };

  private readonly quickAckAfterWrite = (): void => {
    quickAck(this.tcpSocket);
  };

  private async writeParts(parts: WirePart[]): Promise<void> {
    for (const part of parts) {
      if (this.socket.destroyed) return;
      if (Buffer.isBuffer(part)) {
        this.bufferOut(part);
        continue;
      }
      this.flushOut();
      let sent = 0;
      if (part.pipe) {
        // A closed socket stops the reading (the error is only a signal, not a failure).
        const closed = new Error('socket closed');
        try {
          await part.pipe(async (chunk) => {
            if (this.socket.destroyed) throw closed;
            sent += chunk.length;
            if (sent > part.size) throw new Error('streamed literal longer than announced');
            await this.writeConsumed(chunk);
          });
        } catch (err) {
          if (err === closed) return;
          throw err;
        }
        if (this.socket.destroyed) return;
        if (sent !== part.size) throw new Error(`streamed literal shorter than announced (${sent} of ${part.size})`);
        continue;
      }
      for await (const chunk of part.open()) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        sent += b.length;
        if (sent > part.size) throw new Error('streamed literal longer than announced');
        await this.writeBuffer(b);
        if (this.socket.destroyed) return;
      }
      if (sent !== part.size) throw new Error(`streamed literal shorter than announced (${sent} of ${part.size})`);
    }
    await this.backpressure();
  }

  private async writeBuffer(buf: Buffer): Promise<void> {
    const sock = this.socket;
    // After close() the socket is ending: late output (a command finishing) is dropped.
    if (sock.destroyed || sock.writableEnded) return;
    if (!sock.write(buf)) {
      await new Promise<void>((resolve) => {
        if (sock.destroyed) return resolve();
        this.drainWaiters.push(resolve);
      });
    }
  }

  /**
   * Resolves once the socket is done with `buf` (its write callback: the
   * bytes went to the kernel, TLS or the compressor), so the caller may
   * reuse it; also when the socket is gone.
   */
  private writeConsumed(buf: Buffer): Promise<void> {
    const sock = this.socket;
    if (sock.destroyed || sock.writableEnded) return RESOLVED;
    return new Promise<void>((resolve) => sock.write(buf, () => resolve()));
  }

  // ---------- timers ----------

  private resetTimer(): void {
    if (this.closed) return this.clearTimer();
    const limits = this.deps.config.limits;
    const seconds = this.session.account ? limits.idleTimeoutSeconds : limits.preAuthTimeoutSeconds;
    if (!(seconds > 0)) return this.clearTimer();
    // Called for every chunk read: push the deadline of the same Timeout instead of making a new one.
    if (this.timer && this.timerSeconds === seconds) {
      this.timer.refresh();
      return;
    }
    this.clearTimer();
    this.timerSeconds = seconds;
    this.timer = setTimeout(() => this.onTimeout(), seconds * 1000);
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimeout(): void {
    if (this.closed) return;
    // A long-running command (not IDLE) is not idleness.
    if (this.running && !this.lineWaiter) return this.resetTimer();
    void this.send([{ kind: 'status', status: 'BYE', text: 'Autologout; idle for too long' }]);
    this.close();
  }
}
