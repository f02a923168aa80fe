// mixed: N concurrent IMAP clients, each looping over short sessions the way a
// mail client opening, reading and tidying a mailbox does:
//
//   connect, LOGIN, SELECT INBOX, FETCH 1:* (UID FLAGS),
//   FETCH a window of 5 (UID FLAGS ENVELOPE), UID FETCH one (BODY.PEEK[]),
//   UID STORE it +FLAGS (\Seen),
//   30 %: APPEND a small message (a draft / a sent copy),
//   30 %: UID STORE +FLAGS.SILENT (\Deleted) on a message appended by the bench, then EXPUNGE,
//   LOGOUT.
//
// Appends and expunges balance, and only bench-appended messages are expunged,
// so the prefilled mailbox stays the same through all points. Ops = IMAP
// commands completed inside the measured window.
//
// By default each client starts its next session as soon as the last ends (a
// closed loop: the offered load is whatever the server can take, so two
// servers' latencies are compared at different loads). With --session-rate R
// the clients start R sessions a second between them on a fixed schedule
// (client i of n starts its k-th session at t0 + (k*n + i)/R s) and the point
// also reports how late the starts were, so latencies of two servers can be
// compared at the same offered load, and a server that cannot keep up shows.

import { setTimeout as delay } from 'node:timers/promises';
import { ImapClient, ascii, type TaggedResult } from '../lib/imap-client.js';
import { serverFor, type BenchUser, type Endpoint } from '../lib/endpoint.js';
import { createRng, smallMessage, subSeed, type Rng } from '../lib/messages.js';
import { prefillOverLmtp } from '../lib/prefill.js';
import { LatencyRecorder, nowMs, round3, runLimited, summarize } from '../lib/stats.js';
import { userIdList, type BenchOptions, type PointResult, type Scenario } from './types.js';

const APPEND_PROBABILITY = 0.3;
const EXPUNGE_PROBABILITY = 0.3;
const ENVELOPE_WINDOW = 5;
/** Safety bound on sessions per client, besides the time bound. */
const MAX_SESSIONS_PER_CLIENT = 1_000_000;

export interface Window {
  start: number;
  end: number;
}

class Deadline extends Error {}

/** A point's label: "50 clients", or "50 clients @100/s" when paced. */
export function mixedPointLabel(clients: number, rate: number | null): string {
  return rate === null ? `${clients} clients` : `${clients} clients @${rate}/s`;
}

export function parseMixedPoint(point: string): { clients: number; rate: number | null } {
  const m = /^(\d+) clients(?: @([^/ ]+)\/s)?$/.exec(point);
  if (!m) throw new Error(`mixed: bad point ${point}`);
  return { clients: Number(m[1]), rate: m[2] === undefined ? null : Number(m[2]) };
}

/** Every client count, at every session rate when there are any. */
export function mixedPoints(o: Pick<BenchOptions, 'clients' | 'sessionRates'>): string[] {
  return o.clients.flatMap((n) => (o.sessionRates.length ? o.sessionRates.map((r) => mixedPointLabel(n, r)) : [mixedPointLabel(n, null)]));
}

/** When client `client` of `clients` is due to start its session number `k` (ms, the clock of t0). */
export function sessionSlotMs(t0: number, rate: number, clients: number, client: number, k: number): number {
  return t0 + ((k * clients + client) * 1000) / rate;
}

/**
 * A paced point's schedule and how late its starts were. Counted: every
 * session started inside the measured window (with its lateness, even when
 * its slot was in the warm-up), and every slot due before the window's end
 * whose session had not started by then (the backlog; its lateness at the
 * window's end, a lower bound), so a server that falls behind cannot hide
 * in the figures.
 */
export class Pacing {
  readonly lagsMs: number[] = [];
  /** Sessions started inside the window: the achieved rate is this over the window's length. */
  started = 0;
  /** Slots due before the window's end whose session had not started by then. */
  notStarted = 0;

  constructor(
    readonly t0: number,
    readonly rate: number,
    readonly clients: number,
    private readonly win: Window,
  ) {}

  slot(client: number, k: number): number {
    return sessionSlotMs(this.t0, this.rate, this.clients, client, k);
  }

  /** Client `client` starts its slot `k` now. */
  startedAt(client: number, k: number, now: number): void {
    if (now < this.win.start || now >= this.win.end) return;
    this.started += 1;
    this.lagsMs.push(Math.max(0, now - this.slot(client, k)));
  }

  /** The client stopped: its slots from `k` on that were due before the window's end never started. */
  stoppedAt(client: number, k: number): void {
    for (let slot = this.slot(client, k); slot < this.win.end; slot = this.slot(client, ++k)) {
      this.notStarted += 1;
      this.lagsMs.push(this.win.end - slot);
    }
  }
}

/** Per-user facts learnt after prefill: UIDs at or above this were appended by the bench. */
const firstBenchUid = new Map<string, number>();

function mixedUsers(ep: Endpoint, o: BenchOptions): BenchUser[] {
  return userIdList('mix', o.mixedUsers).map((id) => ep.users.get(id)!);
}

function parseUids(untagged: TaggedResult['untagged']): number[] {
  const uids: number[] = [];
  for (const r of untagged) {
    const m = /^\* \d+ FETCH .*UID (\d+)/.exec(ascii(r.line));
    if (m) uids.push(Number(m[1]));
  }
  return uids;
}

function parseExistsCount(untagged: TaggedResult['untagged']): number {
  let n = 0;
  for (const r of untagged) {
    const m = /^\* (\d+) EXISTS/.exec(ascii(r.line));
    if (m) n = Number(m[1]);
  }
  return n;
}

class MixedClient {
  private appendCounter = 0;
  private readonly rng: Rng;

  constructor(
    private readonly index: number,
    private readonly ep: Endpoint,
    private readonly user: BenchUser,
    private readonly o: BenchOptions,
    private readonly rec: LatencyRecorder,
    private readonly win: Window,
    private readonly appendBase: number,
    private readonly pacing: Pacing | null = null,
  ) {
    this.rng = createRng(subSeed(o.seed, 1000 + index));
  }

  /** Times one command; counts it only when it completes inside the window. */
  private async timed<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (nowMs() >= this.win.end) throw new Deadline();
    const t0 = nowMs();
    try {
      const v = await fn();
      const t1 = nowMs();
      if (t0 >= this.win.start && t1 <= this.win.end) this.rec.record(op, t1 - t0);
      return v;
    } catch (e) {
      if (nowMs() <= this.win.end && !(e instanceof Deadline)) this.rec.error(op);
      throw e;
    }
  }

  async loop(): Promise<void> {
    let s = 0;
    for (; s < MAX_SESSIONS_PER_CLIENT && nowMs() < this.win.end; s++) {
      if (this.pacing) {
        // Wait for this session's slot; one already past (the last session overran) starts at once.
        // A loop: a timer may fire a fraction of a millisecond early (libuv counts whole milliseconds).
        const slot = this.pacing.slot(this.index, s);
        for (let wait = slot - nowMs(); wait > 0; wait = slot - nowMs()) await delay(Math.ceil(wait));
        const now = nowMs();
        if (now >= this.win.end) break;
        this.pacing.startedAt(this.index, s, now);
      }
      let client: ImapClient | null = null;
      try {
        client = await this.timed('CONNECT', () => ImapClient.connect({ ...serverFor(this.ep, this.index).imap, timeoutMs: this.o.timeoutMs }));
        await this.session(client);
      } catch (e) {
        if (!(e instanceof Deadline) && nowMs() < this.win.end) {
          // Back off briefly so a refusing server is not hammered in a tight loop.
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        client?.close();
      }
    }
    this.pacing?.stoppedAt(this.index, s);
  }

  private async session(c: ImapClient): Promise<void> {
    const u = this.user;
    await this.timed('LOGIN', () => c.command(`LOGIN "${u.login}" "${u.password}"`));
    const sel = await this.timed('SELECT', () => c.command('SELECT INBOX'));
    const exists = parseExistsCount(sel.untagged);
    if (exists === 0) throw new Error(`${u.login}: INBOX is empty`);
    const all = await this.timed('FETCH_FLAGS', () => c.command('FETCH 1:* (UID FLAGS)'));
    const uids = parseUids(all.untagged);

    const lo = 1 + Math.floor(this.rng() * Math.max(1, exists - ENVELOPE_WINDOW + 1));
    const hi = Math.min(exists, lo + ENVELOPE_WINDOW - 1);
    await this.timed('FETCH_ENVELOPE', () => c.command(`FETCH ${lo}:${hi} (UID FLAGS ENVELOPE)`));

    const readUid = uids.length ? uids[Math.floor(this.rng() * uids.length)]! : 1;
    await this.timed('FETCH_BODY', () => c.command(`UID FETCH ${readUid} (BODY.PEEK[])`));
    await this.timed('STORE_SEEN', () => c.command(`UID STORE ${readUid} +FLAGS (\\Seen)`));

    if (this.rng() < APPEND_PROBABILITY) {
      this.appendCounter += 1;
      const msg = smallMessage(this.o.seed, this.appendBase + this.index * 1_000_000 + this.appendCounter, u.address);
      await this.timed('APPEND', () => c.append('INBOX', msg, ['\\Seen']));
    }
    if (this.rng() < EXPUNGE_PROBABILITY) {
      const first = firstBenchUid.get(u.login) ?? Number.MAX_SAFE_INTEGER;
      const candidates = uids.filter((x) => x >= first);
      if (candidates.length) {
        const victim = candidates[Math.floor(this.rng() * candidates.length)]!;
        await this.timed('STORE_DELETED', () => c.command(`UID STORE ${victim} +FLAGS.SILENT (\\Deleted)`));
        await this.timed('EXPUNGE', () => c.command('EXPUNGE'));
      }
    }
    await this.timed('LOGOUT', () => c.command('LOGOUT'));
  }
}

export const mixedScenario: Scenario = {
  name: 'mixed',

  userIds: (o) => userIdList('mix', o.mixedUsers),

  async prepare(ep, o) {
    const users = mixedUsers(ep, o);
    const r = await prefillOverLmtp(ep, users, o.prefill, o.seed, 4, o.timeoutMs);
    o.log(
      `  prefill: ${r.messages} messages, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s ` +
        `(${(r.messages / r.seconds).toFixed(0)} msg/s)`,
    );
    // UIDNEXT after prefill: messages from here on are the bench's own appends.
    await runLimited(users.length, 8, async (i) => {
      const u = users[i]!;
      const c = await ImapClient.connect({ ...ep.imap, timeoutMs: o.timeoutMs });
      try {
        await c.command(`LOGIN "${u.login}" "${u.password}"`);
        const st = await c.command('STATUS INBOX (MESSAGES UIDNEXT)');
        const line = st.untagged.map((x) => ascii(x.line)).find((l) => /^\* STATUS /i.test(l)) ?? '';
        const uidNext = /UIDNEXT (\d+)/i.exec(line);
        const messages = /MESSAGES (\d+)/i.exec(line);
        if (!uidNext || Number(messages?.[1]) !== o.prefill) {
          throw new Error(`${u.login}: unexpected STATUS after prefill: ${line}`);
        }
        firstBenchUid.set(u.login, Number(uidNext[1]));
      } finally {
        await c.logout();
      }
    });
    // Every process that accepts connections (each server of a cluster, each worker of a
    // server) logs each user in before the point, as the first one did during prefill: none
    // starts the point with a cold credential cache (a scrypt hash per user). A user's
    // consecutive connections go to consecutive workers (round robin), so as many sequential
    // logins as the server has workers reach every one of them.
    const perServer = Math.max(1, (await ep.connectionHolders?.())?.length ?? 1);
    const servers = ep.servers?.length ? ep.servers : [{ imap: ep.imap, lmtp: ep.lmtp }];
    for (const srv of servers) {
      await runLimited(users.length, 8, async (i) => {
        const u = users[i]!;
        for (let n = 0; n < perServer; n++) {
          const c = await ImapClient.connect({ ...srv.imap, timeoutMs: o.timeoutMs });
          try {
            await c.command(`LOGIN "${u.login}" "${u.password}"`);
            await c.command('SELECT INBOX');
          } finally {
            await c.logout();
          }
        }
      });
    }
  },

  points: (o) => mixedPoints(o),

  async runPoint(ep, point, o, hooks): Promise<PointResult> {
    const { clients: n, rate } = parseMixedPoint(point);
    const users = mixedUsers(ep, o);
    const rec = new LatencyRecorder();
    const t0 = nowMs();
    const win: Window = { start: t0 + o.warmupS * 1000, end: t0 + (o.warmupS + o.durationS) * 1000 };
    hooks?.measuredWindow(win.start, win.end);
    // The schedule starts with the warm-up, so the measured window opens at the offered load.
    const pacing = rate === null ? null : new Pacing(t0, rate, n, win);
    // Appended messages differ per point but are the same on every target.
    const appendBase = (mixedPoints(o).indexOf(point) + 1) * 1_000_000_000;
    const clients = Array.from(
      { length: n },
      (_, i) => new MixedClient(i, ep, users[i % users.length]!, o, rec, win, appendBase, pacing),
    );
    await Promise.all(clients.map((c) => c.loop()));
    const wall = nowMs() - t0;

    const summary = rec.summary();
    const connect = summary.CONNECT;
    const imapOps = rec.totalCount() - (connect?.count ?? 0);
    const seconds = o.durationS;
    const metrics: PointResult['metrics'] = [
      { name: 'ops/s', value: round3(imapOps / seconds), better: 'higher' },
      { name: 'sessions/s', value: round3((summary.LOGOUT?.count ?? 0) / seconds), better: 'higher' },
    ];
    let startLag: ReturnType<typeof summarize> | null = null;
    if (pacing) {
      // sessions/s above counts sessions completed in the window; these show whether the starts kept to the schedule.
      startLag = summarize(pacing.lagsMs);
      metrics.push(
        { name: 'sessions started/s', value: round3(pacing.started / seconds), better: 'higher' },
        { name: 'start lag p50 ms', value: startLag.p50Ms, better: 'lower' },
        { name: 'start lag p99 ms', value: startLag.p99Ms, better: 'lower' },
        { name: 'sessions not started', value: pacing.notStarted, better: 'lower' },
      );
    }
    metrics.push({ name: 'errors', value: rec.totalErrors(), better: 'lower' });
    for (const [op, s] of Object.entries(summary)) {
      metrics.push({ name: `${op} p50 ms`, value: s.p50Ms, better: 'lower' });
      metrics.push({ name: `${op} p99 ms`, value: s.p99Ms, better: 'lower' });
    }
    const paced = pacing && startLag ? { sessionRate: pacing.rate, started: pacing.started, notStarted: pacing.notStarted, startLagMs: startLag } : undefined;
    return { point, metrics, details: { perOp: summary, wallSeconds: round3(wall / 1000), paced }, measuredOps: imapOps };
  },
};
