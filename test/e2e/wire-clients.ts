// Minimal raw-socket LMTP and IMAP clients for end-to-end tests that need to
// control the bytes (crash injection, 200 MB literals), where a full client
// library would hide what is on the wire.

import { connect, type Socket } from 'node:net';

/** Reads CRLF-terminated lines (and raw byte counts) from a socket, as bytes. */
export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  private ended: Error | null = null;

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.wake();
    });
    const end = (err?: Error) => {
      this.ended = err ?? new Error('connection closed');
      this.wake();
    };
    socket.on('error', end);
    socket.on('close', () => end());
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private wait(): Promise<void> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.buffer.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buffer.subarray(0, i).toString('utf8');
        this.buffer = this.buffer.subarray(i + 2);
        return line;
      }
      await this.wait();
    }
  }

  /** Consumes exactly n bytes, handing them to `sink` as they arrive (nothing retained). */
  async bytes(n: number, sink: (chunk: Buffer) => void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffer.length === 0) await this.wait();
      const take = Math.min(left, this.buffer.length);
      sink(this.buffer.subarray(0, take));
      this.buffer = this.buffer.subarray(take);
      left -= take;
    }
  }
}

export async function open(port: number): Promise<{ socket: Socket; reader: LineReader }> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, reader: new LineReader(socket) };
}

/** A line-oriented LMTP client: reads complete (possibly multi-line) replies. */
export class LmtpClient {
  private buffer = '';
  private waiters: Array<() => void> = [];
  private closed = false;
  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  static connect(port: number): Promise<LmtpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new LmtpClient(socket)));
      socket.once('error', reject);
    });
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
  /** The next complete reply, its lines joined with \n. */
  async reply(): Promise<string> {
    for (;;) {
      const lines = this.buffer.split('\r\n');
      for (let i = 0; i < lines.length - 1; i++) {
        if (/^\d{3} /.test(lines[i]!) || /^\d{3}$/.test(lines[i]!)) {
          const reply = lines.slice(0, i + 1).join('\n');
          this.buffer = lines.slice(i + 1).join('\r\n');
          return reply;
        }
      }
      if (this.closed) throw new Error(`connection closed; pending: ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
  async command(line: string): Promise<string> {
    this.socket.write(line + '\r\n');
    return this.reply();
  }
  /** Writes; resolves once the socket has taken the bytes (a big write does not pile up in memory). */
  async write(data: string | Buffer): Promise<void> {
    if (!this.socket.write(data)) await new Promise((r) => this.socket.once('drain', r));
  }
  close(): void {
    this.socket.destroy();
  }
}

/** One LMTP session delivering messages one after another; each `deliver` resolves with the reply for the single recipient. */
export class LmtpSession {
  private constructor(
    private readonly socket: Socket,
    private readonly reader: LineReader,
  ) {}

  static async connect(port: number): Promise<LmtpSession> {
    const { socket, reader } = await open(port);
    const s = new LmtpSession(socket, reader);
    await s.reply(); // greeting
    socket.write('LHLO test.example\r\n');
    await s.reply();
    return s;
  }

  private async reply(): Promise<string> {
    for (;;) {
      const line = await this.reader.line();
      if (line[3] !== '-') return line;
    }
  }

  async deliver(from: string, to: string, message: Buffer): Promise<string> {
    this.socket.write(`MAIL FROM:<${from}>\r\n`);
    const mail = await this.reply();
    if (!mail.startsWith('250')) return mail;
    this.socket.write(`RCPT TO:<${to}>\r\n`);
    const rcpt = await this.reply();
    if (!rcpt.startsWith('250')) {
      this.socket.write('RSET\r\n');
      await this.reply();
      return rcpt;
    }
    this.socket.write('DATA\r\n');
    const go = await this.reply();
    if (!go.startsWith('354')) return go;
    // Dot-stuffing: test messages never start a line with '.', assert rather than stuff.
    if (message.includes('\n.')) throw new Error('test message needs dot-stuffing');
    this.socket.write(message);
    this.socket.write('.\r\n');
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A tagged-command IMAP client that keeps untagged lines, with byte-exact literal handling for big bodies. */
export class RawImap {
  private tagNo = 0;
  private constructor(
    readonly socket: Socket,
    readonly reader: LineReader,
  ) {}

  static async connect(port: number): Promise<RawImap> {
    const { socket, reader } = await open(port);
    const c = new RawImap(socket, reader);
    const greeting = await reader.line();
    if (!greeting.startsWith('* OK')) throw new Error(`bad greeting: ${greeting}`);
    return c;
  }

  /** Connects and logs `user` in (LOGIN); throws unless the answer is OK. */
  static async login(port: number, user: string, password = 'secret'): Promise<RawImap> {
    const c = await RawImap.connect(port);
    const r = await c.command(`LOGIN ${user} ${password}`);
    if (!r.tagged.startsWith('OK ')) throw new Error(`LOGIN ${user}: ${r.tagged}`);
    return c;
  }

  nextTag(): string {
    return `t${++this.tagNo}`;
  }

  /** Sends a command line and collects lines up to its tagged reply. Literals in responses are passed to onLiteral. */
  async command(
    line: string,
    onLiteral?: (size: number, reader: LineReader) => Promise<void>,
  ): Promise<{ tagged: string; untagged: string[] }> {
    const tag = this.nextTag();
    this.socket.write(`${tag} ${line}\r\n`);
    return this.collect(tag, onLiteral);
  }

  async collect(
    tag: string,
    onLiteral?: (size: number, reader: LineReader) => Promise<void>,
  ): Promise<{ tagged: string; untagged: string[] }> {
    const untagged: string[] = [];
    for (;;) {
      const line = await this.reader.line();
      if (line.startsWith(`${tag} `)) return { tagged: line.slice(tag.length + 1), untagged };
      const literal = /\{(\d+)\}$/.exec(line);
      if (literal) {
        const size = Number(literal[1]);
        if (onLiteral) await onLiteral(size, this.reader);
        else await this.reader.bytes(size, () => {});
      }
      untagged.push(line);
    }
  }

  /** Enters IDLE (a mailbox selected); returns the tag that DONE will complete. */
  async idle(): Promise<string> {
    const tag = this.nextTag();
    this.socket.write(`${tag} IDLE\r\n`);
    const line = await this.reader.line();
    if (line !== '+ idling') throw new Error(`IDLE: expected "+ idling", got ${JSON.stringify(line)}`);
    return tag;
  }

  /** Reads untagged lines during IDLE (keepalives skipped) until `done` says so; fails after `ms`. */
  async idleUntil(done: (line: string, all: string[]) => boolean, ms: number): Promise<string[]> {
    const lines: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`IDLE: not seen within ${ms} ms; got ${JSON.stringify(lines)}`)), ms);
    });
    try {
      for (;;) {
        const line = await Promise.race([this.reader.line(), timeout]);
        if (line === '* OK Still here') continue;
        lines.push(line);
        if (done(line, lines)) return lines;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
