// A minimal LMTP client (RFC 2033): LHLO, then per message MAIL FROM / RCPT TO /
// DATA with dot-stuffing, reading one reply per accepted recipient after the
// final dot. Bytes are sent unchanged apart from dot-stuffing.

import net from 'node:net';

export interface LmtpReply {
  code: number;
  /** Reply lines' text after the code, joined by newlines (ASCII, for messages only). */
  text: string;
}

export class LmtpError extends Error {
  constructor(
    message: string,
    readonly reply?: LmtpReply,
  ) {
    super(message);
  }
}

export interface LmtpConnectOptions {
  host: string;
  port: number;
  timeoutMs?: number;
  /** Name sent in LHLO. */
  clientName?: string;
}

const CRLF = Buffer.from('\r\n');
const DOT_CRLF = Buffer.from('.\r\n');

export class LmtpClient {
  private buf: Buffer = Buffer.alloc(0);
  private lines: string[] = [];
  private readonly queue: LmtpReply[] = [];
  private waiter: { resolve: (r: LmtpReply) => void; reject: (e: Error) => void } | null = null;
  private closed: Error | null = null;
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

  static async connect(opts: LmtpConnectOptions): Promise<LmtpClient> {
    const socket = net.connect({ host: opts.host, port: opts.port });
    const client = new LmtpClient(socket, opts.timeoutMs ?? 60_000);
    const greeting = await client.reply();
    if (greeting.code !== 220) throw new LmtpError(`LMTP greeting ${greeting.code} ${greeting.text}`, greeting);
    await client.expect(`LHLO ${opts.clientName ?? 'bench.localhost'}`, 250);
    return client;
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.closed = err;
    this.waiter?.reject(err);
    this.waiter = null;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let data = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    let pos = 0;
    for (;;) {
      const eol = data.indexOf(CRLF, pos);
      if (eol < 0) break;
      const line = data.subarray(pos, eol).toString('latin1');
      pos = eol + 2;
      this.lines.push(line);
      // "250-..." continues a multi-line reply; "250 ..." (or a bare code) ends it.
      if (line.length <= 3 || line[3] === ' ') {
        const code = Number(line.slice(0, 3));
        const text = this.lines.map((l) => l.slice(4)).join('\n');
        this.lines = [];
        this.push({ code, text });
      }
    }
    data = data.subarray(pos);
    this.buf = data.length ? Buffer.from(data) : Buffer.alloc(0);
  }

  private push(r: LmtpReply): void {
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve(r);
    } else {
      this.queue.push(r);
    }
  }

  /** The next reply from the server. */
  private reply(): Promise<LmtpReply> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(this.closed);
    return new Promise<LmtpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new Error(`LMTP timeout after ${this.timeoutMs} ms`);
        this.fail(err);
      }, this.timeoutMs);
      this.waiter = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  private write(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.bytesOut += b.length;
    this.socket.write(b);
  }

  private async expect(line: string, code: number): Promise<LmtpReply> {
    this.write(`${line}\r\n`);
    const r = await this.reply();
    if (r.code !== code) throw new LmtpError(`${line.split(' ')[0]}: ${r.code} ${r.text}`, r);
    return r;
  }

  /**
   * Delivers one message to the recipients; resolves with one reply per
   * recipient (in RCPT order; refused recipients get their RCPT reply).
   * `onDataSent` is called right after the final dot is written.
   */
  async deliver(
    from: string,
    recipients: string[],
    message: Buffer,
    onDataSent?: () => void,
  ): Promise<LmtpReply[]> {
    await this.expect(`MAIL FROM:<${from}>`, 250);
    const replies: Array<LmtpReply | null> = [];
    let accepted = 0;
    for (const rcpt of recipients) {
      this.write(`RCPT TO:<${rcpt}>\r\n`);
      const r = await this.reply();
      if (r.code === 250 || r.code === 251) {
        replies.push(null);
        accepted += 1;
      } else {
        replies.push(r);
      }
    }
    if (accepted === 0) {
      await this.expect('RSET', 250);
      return replies as LmtpReply[];
    }
    await this.expect('DATA', 354);
    this.write(dotStuff(message));
    this.write(DOT_CRLF);
    onDataSent?.();
    for (let i = 0; i < replies.length; i++) {
      if (replies[i] === null) replies[i] = await this.reply();
    }
    return replies as LmtpReply[];
  }

  async quit(): Promise<void> {
    try {
      if (!this.closed) await this.expect('QUIT', 221);
    } catch {
      // Closing anyway.
    }
    this.fail(new Error('closed by client'));
  }

  close(): void {
    this.fail(new Error('closed by client'));
  }
}

/**
 * Dot-stuffs a message (a "." at the start of a line gets another ".") and
 * makes sure it ends with CRLF, so that "." CRLF can follow.
 */
export function dotStuff(message: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (message.length > 0 && message[0] === 0x2e) {
    parts.push(Buffer.from('.'));
  }
  let pos = message.indexOf('\n.', 0);
  while (pos >= 0) {
    parts.push(message.subarray(start, pos + 1), Buffer.from('.'));
    start = pos + 1;
    pos = message.indexOf('\n.', start);
  }
  parts.push(message.subarray(start));
  const endsWithCrlf =
    message.length >= 2 && message[message.length - 2] === 0x0d && message[message.length - 1] === 0x0a;
  if (!endsWithCrlf) parts.push(CRLF);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
