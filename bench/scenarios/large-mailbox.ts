// large-mailbox: one user whose INBOX holds --large-messages small messages
// (default 1,000,000), the same Maildir files on every target (written once
// into a cache dir and reused; Petrel imports them with `petrel import
// maildir`, Dovecot gets them as its own Maildir and indexes them on first
// access). Then one session times, in order:
//   SELECT (first: Dovecot builds its index here), SELECT again,
//   FETCH 1:* (UID FLAGS), UID FETCH of the last 50 (ENVELOPE BODYSTRUCTURE),
//   UID SEARCH HEADER SUBJECT <word>, UID SEARCH BODY <word>,
// and a second session STATUS (MESSAGES UNSEEN UIDNEXT), timed once, then
// the median of 20 more and of 200 after those. Before the point
// (in prepare) it waits until the server says its SEARCH index holds every text
// (Petrel on SQLite fills it after the commit, and its background thread
// would otherwise take CPU from the steps and leave SEARCH scanning the
// text not yet indexed). The server's memory
// (VmRSS, VmHWM from /proc) is read before and after the steps. Every answer
// is checked (EXISTS, FETCH count, SEARCH hit counts), so a fast wrong answer
// fails the point instead of winning it.

import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { processCpuMs, processMemory, type ProcessMemory } from '../../test/support/proc.js';
import type { Endpoint } from '../lib/endpoint.js';
import { ascii, ImapClient, parseExists, type ImapResponse } from '../lib/imap-client.js';
import { BODY_MARK, BODY_MARK_EVERY, ensureLargeMaildir, HEADER_MARK, HEADER_MARK_EVERY, markedCount } from '../lib/maildir.js';
import { nowMs, round3 } from '../lib/stats.js';
import type { BenchOptions, Metric, PointResult, Scenario } from './types.js';

const USER_ID = 'big001';
/** The slow steps (a first SELECT or a body scan of a million files) get at least this long. */
const MIN_TIMEOUT_MS = 30 * 60_000;
/** Import time per target (prepare runs before the point). */
const importSeconds = new Map<string, number>();
/** How long prepare waited for the target's SEARCH index (null: the target does not tell). */
const indexWaitSeconds = new Map<string, number | null>();

function cacheDir(o: BenchOptions): string {
  const root = o.largeCache ?? path.join(os.tmpdir(), 'petrel-bench-cache');
  return path.join(root, `large-${o.largeMessages}-s${o.seed}`);
}

function searchHits(untagged: ImapResponse[]): number {
  let hits = 0;
  for (const r of untagged) {
    const m = /^\* SEARCH((?: \d+)*)/i.exec(ascii(r.line));
    if (m) hits += m[1]!.trim() === '' ? 0 : m[1]!.trim().split(' ').length;
  }
  return hits;
}

const MiB = (kib: number) => round3(kib / 1024);
/** STATUS commands timed after the first, for a median. */
const STATUS_REPEATS = 20;
/**
 * Then this many more, for a steady-state median: a freshly started Node
 * server is still compiling STATUS's code over the first 20 (a probe gave a
 * median of 0.47 ms over 20 and 0.19 ms over 300).
 */
const STATUS_STEADY_REPEATS = 200;

/** The SEARCH index gets this long to catch up with the import. */
const INDEX_WAIT_MS = 4 * 3600_000;
const INDEX_POLL_MS = 1000;
const INDEX_LOG_EVERY_MS = 30_000;

/**
 * Waits until the target's SEARCH index holds every stored text (its
 * /metrics gauge at 0); the seconds waited, or null when the target does
 * not tell (Dovecot builds its index in the first SELECT, which is timed;
 * a Petrel build without the gauge: then SEARCH may run on an index still
 * being built, and the log says so).
 */
async function waitForSearchIndex(ep: Endpoint, o: BenchOptions): Promise<number | null> {
  if (!ep.searchIndexLag) return null;
  const t0 = nowMs();
  let lag = await ep.searchIndexLag();
  if (lag === null) {
    o.log(`   ${ep.name}: no petrel_search_index_lag_texts in /metrics: cannot tell whether the SEARCH index has caught up`);
    return null;
  }
  let logged = t0;
  while (lag > 0) {
    const now = nowMs();
    if (now - t0 > INDEX_WAIT_MS) throw new Error(`${ep.name}: the SEARCH index still lags ${lag} texts after ${INDEX_WAIT_MS / 60_000} min`);
    if (now - logged >= INDEX_LOG_EVERY_MS) {
      o.log(`   ${ep.name}: SEARCH index ${lag} texts behind (${((now - t0) / 1000).toFixed(0)} s)`);
      logged = now;
    }
    await delay(INDEX_POLL_MS);
    lag = (await ep.searchIndexLag()) ?? 0;
  }
  const s = round3((nowMs() - t0) / 1000);
  o.log(`   ${ep.name}: SEARCH index caught up; waited ${s} s`);
  return s;
}

/** STATUS INBOX (MESSAGES) of the bench user. */
async function inboxCount(ep: Endpoint, o: BenchOptions): Promise<number> {
  const user = ep.users.get(USER_ID)!;
  const c = await ImapClient.connect({ ...ep.imap, timeoutMs: Math.max(o.timeoutMs, MIN_TIMEOUT_MS) });
  try {
    await c.command(`LOGIN "${user.login}" "${user.password}"`);
    const st = await c.command('STATUS INBOX (MESSAGES)');
    const m = st.untagged.map((r) => /MESSAGES (\d+)/.exec(ascii(r.line))).find(Boolean);
    return m ? Number(m[1]) : 0;
  } finally {
    await c.logout();
  }
}

export const largeMailboxScenario: Scenario = {
  name: 'large-mailbox',

  userIds: () => [USER_ID],

  async prepare(ep, o) {
    if (!ep.importMaildir) throw new Error(`target ${ep.name} cannot import a Maildir`);
    const user = ep.users.get(USER_ID)!;
    const dir = cacheDir(o);
    o.log(`   maildir cache ${dir}`);
    // A reused data dir (--petrel-data) may hold the mailbox already.
    const already = await inboxCount(ep, o);
    if (already === o.largeMessages) {
      importSeconds.delete(ep.name);
      o.log(`   ${ep.name}: INBOX already holds ${already} messages (reused data); import skipped`);
      indexWaitSeconds.set(ep.name, await waitForSearchIndex(ep, o));
      return;
    }
    if (already !== 0) throw new Error(`${ep.name}: INBOX holds ${already} messages, expected 0 or ${o.largeMessages}`);
    const made = await ensureLargeMaildir(dir, o.largeMessages, o.seed, user.address, o.log);
    if (made.generated) o.log(`   maildir: ${o.largeMessages} messages written in ${made.seconds.toFixed(1)} s`);
    const t0 = nowMs();
    await ep.importMaildir(USER_ID, made.maildir);
    const s = (nowMs() - t0) / 1000;
    importSeconds.set(ep.name, s);
    o.log(`   ${ep.name}: maildir imported in ${s.toFixed(1)} s (${Math.round(o.largeMessages / s)} msg/s)`);
    // Outside the point: its server CPU figure does not include the indexing.
    indexWaitSeconds.set(ep.name, await waitForSearchIndex(ep, o));
  },

  points: (o) => [`${o.largeMessages} msgs`],

  async runPoint(ep, point, o): Promise<PointResult> {
    const n = o.largeMessages;
    const user = ep.users.get(USER_ID)!;
    const timeoutMs = Math.max(o.timeoutMs, MIN_TIMEOUT_MS);
    const memory = async (): Promise<ProcessMemory | null> => (ep.serverPids ? processMemory(await ep.serverPids()) : null);
    const timings: Record<string, number> = {};
    const cpu: Record<string, number> = {};
    const mem: Record<string, ProcessMemory | null> = {};
    // Wall time is what a client sees; the server's CPU time for the step is what
    // stays comparable when the machine is busy with other work.
    const serverCpu = async (): Promise<number> => (ep.serverPids ? processCpuMs(await ep.serverPids()) : NaN);
    const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const c0 = await serverCpu();
      const t0 = nowMs();
      const v = await fn();
      timings[name] = round3(nowMs() - t0);
      cpu[name] = (await serverCpu()) - c0;
      o.log(`   ${name}: ${timings[name]} ms (server CPU ${cpu[name]} ms)`);
      return v;
    };

    const c = await ImapClient.connect({ ...ep.imap, timeoutMs });
    try {
      await c.command(`LOGIN "${user.login}" "${user.password}"`);
      mem.beforeSelect = await memory();
      for (const name of ['SELECT', 'SELECT again']) {
        const sel = await timed(name, () => c.command('SELECT INBOX'));
        let exists = -1;
        for (const r of sel.untagged) exists = parseExists(r) ?? exists;
        if (exists !== n) throw new Error(`${name}: EXISTS ${exists}, expected ${n}`);
      }
      mem.afterSelect = await memory();

      // Counted as they arrive, not kept: a million responses would weigh on the bench, not the server.
      let fetched = 0;
      const lastUids: number[] = [];
      c.collectUntagged = false;
      c.onUntagged = (r) => {
        const m = /^\* \d+ FETCH \(.*UID (\d+)/.exec(ascii(r.line));
        if (!m) return;
        fetched++;
        lastUids.push(Number(m[1]));
        if (lastUids.length > 50) lastUids.shift();
      };
      await timed('FETCH 1:* (UID FLAGS)', () => c.command('FETCH 1:* (UID FLAGS)'));
      c.onUntagged = null;
      c.collectUntagged = true;
      if (fetched !== n) throw new Error(`FETCH 1:*: ${fetched} responses, expected ${n}`);
      mem.afterFetch = await memory();

      const last = await timed('UID FETCH last 50 (ENVELOPE BODYSTRUCTURE)', () =>
        c.command(`UID FETCH ${lastUids[0]}:${lastUids[lastUids.length - 1]} (ENVELOPE BODYSTRUCTURE)`),
      );
      const got = last.untagged.filter((r) => /^\* \d+ FETCH /.test(ascii(r.line))).length;
      if (got !== Math.min(50, n)) throw new Error(`UID FETCH last 50: ${got} responses`);

      const header = await timed('UID SEARCH HEADER SUBJECT', () => c.command(`UID SEARCH HEADER SUBJECT ${HEADER_MARK}`));
      const headerHits = searchHits(header.untagged);
      if (headerHits !== markedCount(n, HEADER_MARK_EVERY))
        throw new Error(`SEARCH HEADER: ${headerHits} hits, expected ${markedCount(n, HEADER_MARK_EVERY)}`);
      const body = await timed('UID SEARCH BODY', () => c.command(`UID SEARCH BODY ${BODY_MARK}`));
      const bodyHits = searchHits(body.untagged);
      if (bodyHits !== markedCount(n, BODY_MARK_EVERY))
        throw new Error(`SEARCH BODY: ${bodyHits} hits, expected ${markedCount(n, BODY_MARK_EVERY)}`);
      // Before LOGOUT: Dovecot's session process (and its peak) goes away with the session.
      mem.end = await memory();
    } finally {
      await c.logout();
    }

    const s = await ImapClient.connect({ ...ep.imap, timeoutMs });
    try {
      await s.command(`LOGIN "${user.login}" "${user.password}"`);
      const st = await timed('STATUS', () => s.command('STATUS INBOX (MESSAGES UNSEEN UIDNEXT)'));
      const m = st.untagged.map((r) => /MESSAGES (\d+)/.exec(ascii(r.line))).find(Boolean);
      if (!m || Number(m[1]) !== n) throw new Error(`STATUS: ${m ? m[1] : 'no'} MESSAGES, expected ${n}`);
      // One sample is mostly the machine waking up (the first command after
      // a pause costs as much whatever it is): the median of more, too.
      // Then the median of 200 more: a freshly started server is still compiling during the first 20.
      for (const repeats of [STATUS_REPEATS, STATUS_STEADY_REPEATS]) {
        const times: number[] = [];
        for (let i = 0; i < repeats; i++) {
          const t0 = nowMs();
          await s.command('STATUS INBOX (MESSAGES UNSEEN UIDNEXT)');
          times.push(nowMs() - t0);
        }
        times.sort((x, y) => x - y);
        const name = `STATUS median of ${repeats} more`;
        timings[name] = round3(times[Math.floor(times.length / 2)]!);
        o.log(`   ${name}: ${timings[name]} ms`);
      }
    } finally {
      await s.logout();
    }

    const metrics: Metric[] = Object.entries(timings).map(([name, value]) => ({ name: `${name} ms`, value, better: 'lower' }));
    for (const [name, value] of Object.entries(cpu)) {
      // Negative: a process of the server ended between the two readings (Dovecot's session processes).
      if (Number.isFinite(value) && value >= 0) metrics.push({ name: `${name} server CPU ms`, value, better: 'lower' });
    }
    if (mem.beforeSelect && mem.afterFetch) {
      // What the session added: Petrel's one process also holds the whole server, Dovecot's is per session.
      metrics.push({ name: 'server RSS growth SELECT+FETCH MiB', value: MiB(mem.afterFetch.rssKiB - mem.beforeSelect.rssKiB), better: 'lower' });
    }
    if (mem.afterSelect) metrics.push({ name: 'server RSS after SELECT MiB', value: MiB(mem.afterSelect.rssKiB), better: 'lower' });
    if (mem.afterFetch) metrics.push({ name: 'server RSS after FETCH MiB', value: MiB(mem.afterFetch.rssKiB), better: 'lower' });
    if (mem.end) metrics.push({ name: 'server peak RSS (VmHWM) MiB', value: MiB(mem.end.hwmKiB), better: 'lower' });
    return {
      point,
      metrics,
      details: { messages: n, importSeconds: importSeconds.get(ep.name) ?? null, searchIndexWaitSeconds: indexWaitSeconds.get(ep.name) ?? null, serverCpuMs: cpu, memory: mem, cache: cacheDir(o) },
    };
  },
};
