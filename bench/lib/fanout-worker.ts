// A child process of the idle-fanout scenario that holds many IMAP
// connections in IDLE as cheaply as it can: raw net sockets, a few typed
// arrays of per-connection state, no promise or client object per
// connection. Driven by IPC messages from bench/scenarios/idle-fanout.ts:
//
//   parent -> {type:'open', ...}   connect, LOGIN, SELECT INBOX, IDLE each one
//   worker -> {type:'progress', ready, failed}  now and then, and when done
//   parent -> {type:'collect'}     -> {type:'seen', seenAt: number[]} (epoch ms
//                                    of the first EXISTS above the SELECT count, or 0)
//   parent -> {type:'close'}       destroy every socket and exit
//
// Several workers split the connections: one process may not have more file
// descriptors than `ulimit -n`, and one event loop parsing 50,000 sockets'
// logins would slow the ramp (not the measurement: in IDLE nothing flows).

import net from 'node:net';

export interface FanoutOpen {
  type: 'open';
  host: string;
  port: number;
  /** Logins and password of every user this worker connects (users[i] for connection users[userOf[c]]). */
  logins: string[];
  password: string;
  /** Per connection: index into logins, and the local address to connect from. */
  userOf: number[];
  sourceOf: string[];
  /** Connections being set up at the same time. */
  concurrency: number;
  timeoutMs: number;
}

export type FanoutToWorker = FanoutOpen | { type: 'collect' } | { type: 'close' };

export type FanoutFromWorker =
  | { type: 'progress'; ready: number; failed: number; done: boolean; firstError: string | null }
  | { type: 'seen'; seenAt: number[] };

const enum St {
  Greeting = 0,
  Login = 1,
  Select = 2,
  Idle = 3,
  Ready = 4,
  Failed = 5,
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

function run(): void {
  let sockets: Array<net.Socket | null> = [];
  let state = new Uint8Array(0);
  let base = new Int32Array(0);
  let seenAt = new Float64Array(0);
  /** Unfinished line per connection (rare: only during setup). */
  const partial = new Map<number, string>();
  let ready = 0;
  let failed = 0;
  let firstError: string | null = null;
  let opening: FanoutOpen | null = null;
  /**
   * Order of opening: one "leader" session per user first; its user's other
   * sessions once the leader is logged in, so the server verifies each
   * password once and the rest find its credentials cache warm (Petrel's
   * scrypt costs ~0.3 s of CPU per verification, concurrent logins of one
   * user are not merged).
   */
  let leaders: number[] = [];
  let nextLeader = 0;
  const followersOf = new Map<number, number[]>();
  /** Followers whose leader logged in: opened before further leaders. */
  const released: number[] = [];
  let inFlight = 0;
  let lastReport = 0;

  const send = (m: FanoutFromWorker): void => {
    process.send?.(m);
  };

  const report = (force = false): void => {
    const now = Date.now();
    const done = opening !== null && ready + failed === opening.userOf.length;
    if (!force && !done && now - lastReport < 500) return;
    lastReport = now;
    send({ type: 'progress', ready, failed, done, firstError });
  };

  const fail = (c: number, why: string): void => {
    releaseFollowers(c);
    if (state[c] === St.Failed || state[c] === St.Ready) {
      // A ready connection that drops is counted as failed too (it can no longer see EXISTS).
      if (state[c] === St.Ready) {
        ready--;
      } else return;
    } else inFlight--;
    state[c] = St.Failed;
    failed++;
    firstError ??= why;
    sockets[c]?.destroy();
    sockets[c] = null;
    report();
    pump();
  };

  const onLine = (c: number, line: string): void => {
    const o = opening!;
    switch (state[c]) {
      case St.Greeting:
        if (!line.startsWith('* OK')) return fail(c, `greeting: ${line.slice(0, 200)}`);
        state[c] = St.Login;
        sockets[c]!.write(`a LOGIN ${quote(o.logins[o.userOf[c]!]!)} ${quote(o.password)}\r\n`);
        return;
      case St.Login:
        if (line.startsWith('* ')) return;
        if (!line.startsWith('a OK')) return fail(c, `LOGIN: ${line.slice(0, 200)}`);
        state[c] = St.Select;
        sockets[c]!.write('b SELECT INBOX\r\n');
        releaseFollowers(c);
        return;
      case St.Select: {
        const m = /^\* (\d+) EXISTS/i.exec(line);
        if (m) base[c] = Number(m[1]);
        if (line.startsWith('* ')) return;
        if (!line.startsWith('b OK')) return fail(c, `SELECT: ${line.slice(0, 200)}`);
        state[c] = St.Idle;
        sockets[c]!.write('c IDLE\r\n');
        return;
      }
      case St.Idle:
        if (line.startsWith('* ')) return;
        if (!line.startsWith('+')) return fail(c, `IDLE: ${line.slice(0, 200)}`);
        state[c] = St.Ready;
        inFlight--;
        ready++;
        partial.delete(c);
        report();
        pump();
        return;
      case St.Ready: {
        if (seenAt[c] !== 0) return;
        const m = /^\* (\d+) EXISTS/i.exec(line);
        if (m && Number(m[1]) > base[c]!) seenAt[c] = Date.now();
        return;
      }
    }
  };

  const onData = (c: number, chunk: Buffer): void => {
    // In IDLE a chunk is almost always whole lines: take the fast path.
    let text = chunk.toString('latin1');
    const held = partial.get(c);
    if (held !== undefined) {
      text = held + text;
      partial.delete(c);
    }
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      onLine(c, text.slice(start, end));
      if (state[c] === St.Failed) return;
      start = nl + 1;
    }
    if (start < text.length) partial.set(c, text.slice(start));
  };

  const openOne = (c: number): void => {
    const o = opening!;
    inFlight++;
    const sock = net.connect({ host: o.host, port: o.port, localAddress: o.sourceOf[c] });
    sockets[c] = sock;
    sock.setNoDelay(true);
    const timer = setTimeout(() => {
      if (state[c] !== St.Ready && state[c] !== St.Failed) fail(c, `setup timeout after ${o.timeoutMs} ms`);
    }, o.timeoutMs);
    sock.on('data', (d: Buffer) => {
      onData(c, d);
      if (state[c] === St.Ready || state[c] === St.Failed) clearTimeout(timer);
    });
    sock.on('error', (e) => fail(c, e.message));
    sock.on('close', () => {
      clearTimeout(timer);
      if (state[c] !== St.Failed) fail(c, 'closed by the server');
    });
  };

  /** The leader c is logged in (or failed): its user's other sessions may go. */
  const releaseFollowers = (c: number): void => {
    const f = followersOf.get(c);
    if (!f) return;
    followersOf.delete(c);
    for (const x of f) released.push(x);
  };

  const pump = (): void => {
    const o = opening;
    if (!o) return;
    while (inFlight < o.concurrency) {
      const c = released.length > 0 ? released.pop()! : nextLeader < leaders.length ? leaders[nextLeader++]! : -1;
      if (c < 0) return;
      openOne(c);
    }
  };

  process.on('message', (m: FanoutToWorker) => {
    if (m.type === 'open') {
      opening = m;
      const n = m.userOf.length;
      sockets = new Array<net.Socket | null>(n).fill(null);
      state = new Uint8Array(n);
      base = new Int32Array(n);
      seenAt = new Float64Array(n);
      const leaderOf = new Map<number, number>();
      leaders = [];
      for (let c = 0; c < n; c++) {
        const user = m.userOf[c]!;
        const leader = leaderOf.get(user);
        if (leader === undefined) {
          leaderOf.set(user, c);
          leaders.push(c);
        } else {
          const list = followersOf.get(leader);
          if (list) list.push(c);
          else followersOf.set(leader, [c]);
        }
      }
      if (n === 0) report(true);
      pump();
    } else if (m.type === 'collect') {
      send({ type: 'seen', seenAt: Array.from(seenAt) });
    } else if (m.type === 'close') {
      // Destroying is enough: the server sees the connection end (DONE + LOGOUT for 50,000 would only slow the exit).
      for (const s of sockets) {
        s?.removeAllListeners('close');
        s?.destroy();
      }
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

run();
