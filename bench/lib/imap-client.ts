// A minimal IMAP client for load generation: raw socket, one command at a time
// (tagged command -> tagged response), byte-exact framing with literal support
// in both directions. Deliberately independent of Petrel's src/ so the bench
// measures any server from the outside.

import net from 'node:net';

const CRLF = Buffer.from('\r\n');

/** One server response: the line bytes (literals cut out) and the literals in order. */
export interface ImapResponse {
  /** The response line(s) without CRLFs; each literal is replaced by its "{N}" marker. */
  line: Buffer;
  literals: Buffer[];
}

export interface TaggedResult {
  status: 'OK' | 'NO' | 'BAD';
  /** Text after the status, ASCII-decoded for messages only. */
  text: string;
  /** Untagged responses received while the command ran. */
  untagged: ImapResponse[];
}

export class ImapError extends Error {
  constructor(
    message: string,
    readonly result?: TaggedResult,
  ) {
    super(message);
  }
}

export interface ImapConnectOptions {
  host: string;
  port: number;
  /** Applies to connecting and to each command. */
  timeoutMs?: number;
}

type Waiter = {
  tag: string;
  untagged: ImapResponse[];
  resolve: (r: TaggedResult) => void;
  reject: (e: Error) => void;
};

/** Reads only the ASCII tokens of a response line (numbers, atoms); bytes beyond ASCII are kept as-is in `line`. */
export function ascii(buf: Buffer): string {
  return buf.toString('latin1');
}

/** "* 12 EXISTS" -> 12, else null. */
export function parseExists(r: ImapResponse): number | null {
  const s = ascii(r.line);
  const m = /^\* (\d+) EXISTS$/i.exec(s);
  return m ? Number(m[1]) : null;
}

export class ImapClient {
  private buf: Buffer = Buffer.alloc(0);
  private pendingLine: Buffer[] = [];
  private pendingLiterals: Buffer[] = [];
  /** Bytes still to read for the literal being received; -1 when reading a line. */
  private literalLeft = -1;
  private literalChunks: Buffer[] = [];
  private waiter: Waiter | null = null;
  private continuationWaiter: { resolve: (line: Buffer) => void; reject: (e: Error) => void } | null = null;
  private greetingWaiter: { resolve: (r: ImapResponse) => void; reject: (e: Error) => void } | null = null;
  private greeting: ImapResponse | null = null;
  private tagCounter = 0;
  private closed: Error | null = null;
  /** Called for each untagged response (used by IDLE watchers). */
  onUntagged: ((r: ImapResponse) => void) | null = null;
  /** false: untagged responses go only to onUntagged, not into the TaggedResult (FETCH 1:* of a huge mailbox). */
  collectUntagged = true;
  bytesIn = 0;
  bytesOut = 0;

  private constructor(
    private readonly socket: net.Socket,
    private readonly timeoutMs: number,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed')));
  }

  static async connect(opts: ImapConnectOptions): Promise<ImapClient> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const socket = net.connect({ host: opts.host, port: opts.port });
    const client = new ImapClient(socket, timeoutMs);
    await client.waitGreeting();
    return client;
  }

  private waitGreeting(): Promise<ImapResponse> {
    if (this.greeting) return Promise.resolve(this.greeting);
    if (this.closed) return Promise.reject(this.closed);
    return this.withTimeout(
      new Promise<ImapResponse>((resolve, reject) => {
        this.greetingWaiter = { resolve, reject };
      }),
      'greeting',
    );
  }

  private withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error(`IMAP timeout after ${this.timeoutMs} ms waiting for ${what}`);
        this.fail(err);
        reject(err);
      }, this.timeoutMs);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.greetingWaiter?.reject(err);
    this.greetingWaiter = null;
    this.continuationWaiter?.reject(err);
    this.continuationWaiter = null;
    this.waiter?.reject(err);
    this.waiter = null;
    this.socket.destroy();
  }

  get isClosed(): boolean {
    return this.closed !== null;
  }

  private onData(chunk: Buffer): void {
    this.bytesIn += chunk.length;
    let data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = Buffer.alloc(0);
    let pos = 0;
    while (pos < data.length) {
      if (this.literalLeft >= 0) {
        const take = Math.min(this.literalLeft, data.length - pos);
        this.literalChunks.push(data.subarray(pos, pos + take));
        this.literalLeft -= take;
        pos += take;
        if (this.literalLeft === 0) {
          this.pendingLiterals.push(
            this.literalChunks.length === 1 ? Buffer.from(this.literalChunks[0]!) : Buffer.concat(this.literalChunks),
          );
          this.literalChunks = [];
          this.literalLeft = -1;
        }
        continue;
      }
      const eol = data.indexOf(CRLF, pos);
      if (eol < 0) {
        this.buf = Buffer.from(data.subarray(pos));
        return;
      }
      const line = data.subarray(pos, eol);
      pos = eol + 2;
      const literalSize = trailingLiteralSize(line);
      this.pendingLine.push(Buffer.from(line));
      if (literalSize !== null) {
        this.literalLeft = literalSize;
        if (literalSize === 0) {
          this.pendingLiterals.push(Buffer.alloc(0));
          this.literalLeft = -1;
        }
        continue;
      }
      const response: ImapResponse = {
        line: this.pendingLine.length === 1 ? this.pendingLine[0]! : Buffer.concat(this.pendingLine),
        literals: this.pendingLiterals,
      };
      this.pendingLine = [];
      this.pendingLiterals = [];
      this.dispatch(response);
    }
  }

  private dispatch(r: ImapResponse): void {
    const first = r.line[0];
    if (first === 0x2a /* '*' */) {
      if (!this.greeting) {
        this.greeting = r;
        this.greetingWaiter?.resolve(r);
        this.greetingWaiter = null;
        return;
      }
      if (this.collectUntagged) this.waiter?.untagged.push(r);
      this.onUntagged?.(r);
      return;
    }
    if (first === 0x2b /* '+' */) {
      const w = this.continuationWaiter;
      this.continuationWaiter = null;
      w?.resolve(r.line);
      return;
    }
    const w = this.waiter;
    if (!w) return;
    const sp = r.line.indexOf(0x20);
    if (sp < 0 || ascii(r.line.subarray(0, sp)) !== w.tag) return;
    const rest = ascii(r.line.subarray(sp + 1));
    const sp2 = rest.indexOf(' ');
    const status = (sp2 < 0 ? rest : rest.slice(0, sp2)).toUpperCase();
    this.waiter = null;
    if (status !== 'OK' && status !== 'NO' && status !== 'BAD') {
      w.reject(new Error(`unexpected tagged response: ${rest.slice(0, 200)}`));
      return;
    }
    w.resolve({ status, text: sp2 < 0 ? '' : rest.slice(sp2 + 1), untagged: w.untagged });
  }

  private write(data: Buffer | string): void {
    if (this.closed) return;
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.bytesOut += b.length;
    this.socket.write(b);
  }

  private nextTag(): string {
    this.tagCounter += 1;
    return `b${this.tagCounter}`;
  }

  /** `timed: false` for IDLE, which lasts until the caller sends DONE. */
  private startCommand(timed = true): { tag: string; done: Promise<TaggedResult> } {
    if (this.closed) throw this.closed;
    if (this.waiter) throw new Error('command already in progress');
    const tag = this.nextTag();
    const response = new Promise<TaggedResult>((resolve, reject) => {
      this.waiter = { tag, untagged: [], resolve, reject };
    });
    return { tag, done: timed ? this.withTimeout(response, `response to ${tag}`) : response };
  }

  /**
   * Sends `TAG <command>` and resolves with the tagged result. `command` must
   * not contain literals (use append() for those). Rejects with ImapError on NO/BAD
   * unless allowFailure is set.
   */
  async command(command: string, allowFailure = false): Promise<TaggedResult> {
    const { tag, done } = this.startCommand();
    this.write(`${tag} ${command}\r\n`);
    const result = await done;
    if (result.status !== 'OK' && !allowFailure) {
      throw new ImapError(`${command.split(' ')[0]} failed: ${result.status} ${result.text}`, result);
    }
    return result;
  }

  private waitContinuation(): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed) {
        reject(this.closed);
        return;
      }
      this.continuationWaiter = { resolve, reject };
    });
  }

  /** APPEND with a synchronizing literal (works on every server). */
  async append(mailbox: string, message: Buffer, flags: string[] = []): Promise<TaggedResult> {
    const { tag, done } = this.startCommand();
    const cont = this.waitContinuation();
    const flagList = flags.length ? ` (${flags.join(' ')})` : '';
    this.write(`${tag} APPEND ${quote(mailbox)}${flagList} {${message.length}}\r\n`);
    // The server answers either "+" (go on) or a tagged NO/BAD (refused).
    const outcome = await Promise.race([cont.then(() => 'continue' as const), done.then(() => 'done' as const)]);
    if (outcome === 'continue') {
      this.write(message);
      this.write(CRLF);
    } else {
      this.continuationWaiter = null;
    }
    const result = await done;
    if (result.status !== 'OK') throw new ImapError(`APPEND failed: ${result.status} ${result.text}`, result);
    return result;
  }

  /**
   * Enters IDLE; resolves once the server sent its continuation. Untagged
   * responses then arrive through onUntagged. Call idleDone() to leave.
   */
  async idle(): Promise<{ done: Promise<TaggedResult> }> {
    const { tag, done } = this.startCommand(false);
    const cont = this.waitContinuation();
    this.write(`${tag} IDLE\r\n`);
    const outcome = await this.withTimeout(
      Promise.race([cont.then(() => 'continue' as const), done.then(() => 'done' as const)]),
      'IDLE continuation',
    );
    if (outcome === 'done') {
      const r = await done;
      throw new ImapError(`IDLE refused: ${r.status} ${r.text}`, r);
    }
    return { done };
  }

  idleDone(): void {
    this.write('DONE\r\n');
  }

  /** LOGOUT and close; never throws. */
  async logout(): Promise<void> {
    try {
      if (!this.closed) await this.command('LOGOUT', true);
    } catch {
      // The server may close before the tagged OK reaches us.
    }
    this.close();
  }

  close(): void {
    this.fail(new Error('closed by client'));
  }
}

/** `{123}` or `{123+}` at the end of a line -> 123. */
function trailingLiteralSize(line: Buffer): number | null {
  const n = line.length;
  if (n < 3 || line[n - 1] !== 0x7d /* '}' */) return null;
  let i = n - 2;
  if (line[i] === 0x2b /* '+' */) i -= 1;
  let value = 0;
  let digits = 0;
  let scale = 1;
  while (i >= 0 && line[i]! >= 0x30 && line[i]! <= 0x39) {
    value += (line[i]! - 0x30) * scale;
    scale *= 10;
    digits += 1;
    i -= 1;
  }
  if (digits === 0 || i < 0 || line[i] !== 0x7b /* '{' */) return null;
  return value;
}

/** IMAP quoted string for ASCII mailbox names and credentials. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

// Exported for the bench's self-check.
export const __test = { trailingLiteralSize };
