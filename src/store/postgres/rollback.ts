// Rollback detection after an asynchronous fail-over (README "Replication and
// fail-over"). Transactions committed on a lost primary, but not yet on the
// standby that was promoted, are gone, and the new primary would hand their
// UIDs and MODSEQs out again, to other messages, under the same UIDVALIDITY
// (RFC 9051 2.3.1.1 forbids it). The new primary cannot know what it lost;
// the servers that saw it can:
//
// - Each server remembers, per mailbox it read or wrote (MailboxWatermarks),
//   its UIDVALIDITY and the highest UIDNEXT and HIGHESTMODSEQ it saw, by the
//   timeline on which the row's counters had last changed (counters_timeline).
// - The database keeps, per mailbox, the counters as they were before their
//   first change on the current timeline (a trigger, see schema.ts): what
//   survived the promotion, even after another server wrote to the mailbox.
// - A mailbox lost changes when a server saw, on timeline T, more than what
//   survived: the fork values when the row changed on a later timeline, else
//   its current values. It gets a new UIDVALIDITY (an UPDATE guarded on the
//   old one: done once however many servers find it), and an event
//   (mailbox-changed, modseq 0) makes its sessions end (BYE).
//
// When it is checked: before the first operation at start and after the pool
// lost a connection, and when the event bus's LISTEN connection is back after
// a loss (the timeline is read; when it changed, every remembered mailbox is
// checked); inside every write that takes UIDs, a MODSEQ or a
// UIDVALIDITY, before COMMIT (the row's timeline must be the one checked, and
// what it takes above what was seen, else the transaction rolls back, the
// check runs and the write runs again); and after a read that shows counters
// below what was seen (a rollback without a promotion) or a row changed on a
// timeline not yet checked.

import type { AccountId, MailboxId, MailEvent } from '../../mail/types.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { pgIdempotent, pgTransaction, startDeadlineMs, withDeadline, type Pg, type PgTx } from './pg.js';

/** storage.postgres_promotion_uidvalidity: which mailboxes get a new UIDVALIDITY after a promotion. */
export type PromotionPolicy = 'seen' | 'all';

/** A mailbox row's counters as a statement returned them. */
export interface CountersRow {
  id: number;
  account_id: number;
  uidvalidity: number;
  uidnext: number;
  highestmodseq: number;
  counters_timeline: number;
}

/** The columns of CountersRow, for RETURNING. */
export const COUNTERS_RETURNING = 'id, account_id, uidvalidity, uidnext, highestmodseq, counters_timeline';

/** The current timeline of the primary (schema.ts). */
const TIMELINE_QUERY = 'SELECT petrel_timeline() AS timeline';

interface Mark {
  /** The timeline on which the row's counters had last changed when they were read. */
  timeline: number;
  uidNext: number;
  modseq: number;
  /** MailboxWatermarks.clock when last raised: a read begun before it may show less without any rollback. */
  raisedAt: number;
}

interface Entry {
  accountId: AccountId;
  uidValidity: number;
  /** Highest counters seen, one per timeline (nearly always one: an array is the smallest). */
  marks: Mark[];
}

type Verdict = 'ok' | 'behind' | 'new-uidvalidity';

/** What this server saw of each mailbox (least recently seen forgotten first, beyond `capacity`). */
export class MailboxWatermarks {
  private readonly entries = new Map<MailboxId, Entry>();
  /** The highest UIDVALIDITY seen: a new primary must not give it out again. */
  maxUidValidity = 0;
  /** Counts observations: a read takes it before it starts (see note()). */
  clock = 0;

  constructor(private readonly capacity = 100_000) {}

  get size(): number {
    return this.entries.size;
  }

  get(id: MailboxId): Entry | undefined {
    return this.entries.get(id);
  }

  ids(): MailboxId[] {
    return [...this.entries.keys()];
  }

  delete(id: MailboxId): void {
    this.entries.delete(id);
  }

  /**
   * Records an observation. 'behind': below what was seen under the same
   * UIDVALIDITY on that timeline, or older than a timeline seen, by a read
   * begun (`startedAt`, the clock then) after that was seen: only a rollback,
   * or a lagging replica, shows that; 'new-uidvalidity': the mailbox got a
   * higher UIDVALIDITY since it was last seen.
   */
  note(row: CountersRow, startedAt = Infinity): Verdict {
    const now = ++this.clock;
    this.maxUidValidity = Math.max(this.maxUidValidity, row.uidvalidity);
    const entry = this.entries.get(row.id);
    if (!entry || row.uidvalidity > entry.uidValidity) {
      this.set(row);
      return entry ? 'new-uidvalidity' : 'ok';
    }
    if (row.uidvalidity < entry.uidValidity) return 'ok'; // a replica behind a change of UIDVALIDITY: nothing to learn
    let verdict: Verdict = 'ok';
    const mark = entry.marks.find((m) => m.timeline === row.counters_timeline);
    if (mark) {
      if ((row.uidnext < mark.uidNext || row.highestmodseq < mark.modseq) && mark.raisedAt < startedAt) verdict = 'behind';
      if (row.uidnext > mark.uidNext || row.highestmodseq > mark.modseq) mark.raisedAt = now;
      mark.uidNext = Math.max(mark.uidNext, row.uidnext);
      mark.modseq = Math.max(mark.modseq, row.highestmodseq);
    } else {
      if (entry.marks.some((m) => m.timeline > row.counters_timeline && m.raisedAt < startedAt)) verdict = 'behind';
      entry.marks.push({ timeline: row.counters_timeline, uidNext: row.uidnext, modseq: row.highestmodseq, raisedAt: now });
    }
    // Most recently seen last: the first entries are the ones forgotten.
    this.entries.delete(row.id);
    this.entries.set(row.id, entry);
    return verdict;
  }

  /** Forgets what was seen of the mailbox and starts again from `row` (after a new UIDVALIDITY). */
  set(row: CountersRow): void {
    this.entries.delete(row.id);
    this.entries.set(row.id, {
      accountId: row.account_id,
      uidValidity: row.uidvalidity,
      marks: [{ timeline: row.counters_timeline, uidNext: row.uidnext, modseq: row.highestmodseq, raisedAt: ++this.clock }],
    });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** What a statement of a write transaction took: UIDs and/or a MODSEQ of `row`, or (row null) a UIDVALIDITY. */
export interface Taken {
  row: CountersRow | null;
  newUids: number;
  timeline: number;
}

/** What a one-statement append must find to write (messages.appendInOneStatement; RollbackGuard.takeGuard). */
export interface TakeGuard {
  /** The primary's timeline must still be this one (the one checked). */
  timeline: number;
  /** What this process saw of the mailbox on that timeline: under this UIDVALIDITY its counters must not be below. */
  seen: { uidValidity: number; uidNext: number; modseq: number } | null;
}

const takenIn = new WeakMap<PgTx, Taken[]>();

/** Called by the statements that take UIDs, a MODSEQ or a UIDVALIDITY, inside the write's transaction. */
export function recordTaken(tx: PgTx, row: CountersRow | null, newUids: number, timeline = row?.counters_timeline ?? 0): void {
  let list = takenIn.get(tx);
  if (!list) takenIn.set(tx, (list = []));
  list.push({ row, newUids, timeline });
}

/** What the transaction's statements took (recordTaken). */
export function takenBy(tx: PgTx): Taken[] {
  return takenIn.get(tx) ?? [];
}

/** Thrown inside a write transaction, which rolls back: the check must run before the write runs again. */
export class RollbackCheckNeeded extends Error {
  constructor(
    /** The mailboxes to check; null: the timeline changed, check them all. */
    readonly mailboxIds: MailboxId[] | null,
  ) {
    super(mailboxIds === null ? 'the primary is on a timeline not yet checked' : `mailbox ${mailboxIds.join(', ')} went back`);
  }
}

/** A mailbox found to have lost changes: what was seen (for the new counters), and why, for the log. */
interface Lost {
  id: MailboxId;
  v: number;
  u: number;
  m: number;
  accountId: AccountId;
  why: string;
}

/** A mailbox row as the check reads it. */
interface ForkRow extends CountersRow {
  fork_uidnext: number | null;
  fork_modseq: number | null;
}

export interface RollbackGuardOptions {
  policy?: PromotionPolicy;
  capacity?: number;
}

/** One per repository per process: shared by the store and its readers' views. */
export class RollbackGuard {
  readonly marks: MailboxWatermarks;
  /** The timeline checked last; null before the first check. */
  knownTimeline: number | null = null;
  /** The timeline must be read again before the next operation (start, a lost connection). */
  suspected = true;
  /** Mailboxes given a new UIDVALIDITY by this process (tests, metrics). */
  revalidated = 0;
  private readonly policy: PromotionPolicy;
  private checking: Promise<void> | null = null;
  /** When the last check failed (no primary): the gate lets operations pass for a moment instead of waiting again. */
  private failedAt = 0;
  private readonly toVerify = new Set<MailboxId>();
  /** Mailboxes checked after a read showed less than was seen (tests: none without a rollback). */
  verified = 0;
  private verifyScheduled = false;
  private events: { repository: string; publish(e: MailEvent): void } | null = null;
  private logger: Logger = silentLogger;

  constructor(
    private readonly sql: Pg,
    options: RollbackGuardOptions = {},
  ) {
    this.policy = options.policy ?? 'seen';
    this.marks = new MailboxWatermarks(options.capacity);
  }

  /** Where the sessions of mailboxes given a new UIDVALIDITY hear of it. */
  useEvents(repository: string, bus: { publish(e: MailEvent): void }, logger?: Logger): void {
    this.events = { repository, publish: (e) => bus.publish(e) };
    if (logger) this.logger = logger;
  }

  /** A connection of the pool closed: the next operation reads the timeline first. */
  suspect(): void {
    this.suspected = true;
  }

  /** The database is back after a loss (the LISTEN connection reconnected): check now, not at the next operation. */
  checkSoon(): void {
    this.suspected = true;
    this.checkTimeline().catch((err: unknown) => this.logger.warn('rollback check failed', { err: String(err) }));
  }

  /**
   * The gate of every operation: resolves when the timeline has been checked
   * since the last suspicion, or at once when a check failed in the last
   * second (the database is unreachable: the operation then fails, or waits
   * for a primary, on its own, and a write is still checked before COMMIT).
   * Never rejects.
   */
  async ready(): Promise<void> {
    if (!this.suspected || (!this.checking && Date.now() - this.failedAt < 1000)) return;
    await this.checkTimeline().catch(() => undefined);
  }

  /** Reads the timeline; if it changed since the last check, checks every remembered mailbox. One at a time. */
  checkTimeline(): Promise<void> {
    this.checking ??= (async () => {
      this.suspected = false;
      try {
        await this.runTimelineCheck();
      } catch (err) {
        this.suspected = true;
        this.failedAt = Date.now();
        throw err;
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  /** What a RollbackCheckNeeded asks for, before the write runs again. */
  async resolve(err: RollbackCheckNeeded): Promise<void> {
    if (err.mailboxIds === null) {
      // A check begun before the write saw the new timeline may have read the old one: run a fresh one.
      await this.checking?.catch(() => undefined);
      this.suspected = true;
      await this.checkTimeline();
    } else {
      await this.checkMailboxes(err.mailboxIds);
    }
  }

  /** Before COMMIT of a write: throws RollbackCheckNeeded when what it took may repeat what was seen. */
  checkTaken(taken: readonly Taken[]): void {
    for (const t of taken) {
      if (t.timeline !== this.knownTimeline) throw new RollbackCheckNeeded(null);
      if (!t.row) continue;
      const entry = this.marks.get(t.row.id);
      if (!entry || entry.uidValidity !== t.row.uidvalidity) continue;
      const mark = entry.marks.find((m) => m.timeline === t.timeline);
      // The first UID taken, or the MODSEQ taken, is one seen already: the row went back.
      if (mark && (t.row.uidnext - t.newUids < mark.uidNext || t.row.highestmodseq <= mark.modseq)) {
        throw new RollbackCheckNeeded([t.row.id]);
      }
    }
  }

  /**
   * What checkTaken would ask of a write that takes UIDs and a MODSEQ of
   * `mailboxId`, as values one statement can test before it writes
   * (messages.appendInOneStatement); null before the first timeline check.
   */
  takeGuard(mailboxId: MailboxId): TakeGuard | null {
    if (this.knownTimeline === null) return null;
    const entry = this.marks.get(mailboxId);
    const mark = entry?.marks.find((m) => m.timeline === this.knownTimeline);
    const seen = entry && mark ? { uidValidity: entry.uidValidity, uidNext: mark.uidNext, modseq: mark.modseq } : null;
    return { timeline: this.knownTimeline, seen };
  }

  /** After COMMIT: what the write took is now seen. */
  noteTaken(taken: readonly Taken[]): void {
    for (const t of taken) if (t.row) this.marks.note(t.row);
  }

  /** The clock a read takes before it starts, for noteRead. */
  get clock(): number {
    return this.marks.clock;
  }

  /** A read begun at `startedAt` (the clock) returned these counters (`onPrimary`: from the primary, not a replica). */
  noteRead(row: CountersRow, onPrimary: boolean, startedAt: number): void {
    const verdict = this.marks.note(row, startedAt);
    if (this.knownTimeline !== null && row.counters_timeline > this.knownTimeline) {
      // Changed on a timeline this process has not checked: check now, before anything else.
      this.checkSoon();
      return;
    }
    // A replica may lag behind what another session saw: only the primary's word counts.
    if (verdict === 'behind' && onPrimary) this.scheduleVerify(row.id);
    if (verdict === 'new-uidvalidity') this.publishChanged(row.account_id, row.id);
  }

  private scheduleVerify(id: MailboxId): void {
    this.toVerify.add(id);
    if (this.verifyScheduled) return;
    this.verifyScheduled = true;
    setImmediate(() => {
      this.verifyScheduled = false;
      const ids = [...this.toVerify];
      this.toVerify.clear();
      this.verified += ids.length;
      this.checkMailboxes(ids).catch((err: unknown) => this.logger.warn('rollback check failed', { err: String(err) }));
    });
  }

  private async runTimelineCheck(): Promise<void> {
    // Bounded as the start of a transaction: a gate must not hold a command longer than a write would wait.
    const ms = startDeadlineMs(this.sql);
    const [row] = await withDeadline(pgIdempotent(this.sql, (sql) => sql.unsafe<Array<{ timeline: number }>>(TIMELINE_QUERY)), ms, 'timeline check');
    const timeline = Number(row!.timeline);
    if (timeline === this.knownTimeline) return;
    const previous = this.knownTimeline;
    await this.onNewTimeline(timeline);
    // Every mailbox seen: on another timeline, what survived may be less.
    await this.checkMailboxes(this.marks.ids());
    this.knownTimeline = timeline;
    if (previous !== null) this.logger.warn('PostgreSQL primary on a new timeline: mailboxes checked for lost changes', { previous, timeline, mailboxes: this.marks.size });
  }

  /**
   * The first process on a new timeline records it (meta 'timeline'); with
   * the "all" policy it gives every mailbox a new UIDVALIDITY in the same
   * transaction. Every process also makes sure the next UIDVALIDITY is above
   * the highest it saw (a mailbox created on the lost primary had one).
   */
  private async onNewTimeline(timeline: number): Promise<void> {
    const maxSeen = this.marks.maxUidValidity;
    // At start (nothing seen yet) on a timeline already recorded: nothing to write.
    const [known] = await pgIdempotent(this.sql, (sql) => sql<Array<{ value: number }>>`SELECT value FROM meta WHERE key = 'timeline'`);
    if (maxSeen === 0 && known && Number(known.value) === timeline) return;
    const all = await pgTransaction(this.sql, async (tx) => {
      await tx`UPDATE meta SET value = GREATEST(value, ${maxSeen}::bigint) WHERE key = 'last_uidvalidity'`;
      const [recorded] = await tx<Array<{ value: number }>>`SELECT value FROM meta WHERE key = 'timeline' FOR UPDATE`;
      if (recorded && Number(recorded.value) === timeline) return false;
      await tx`INSERT INTO meta (key, value) VALUES ('timeline', ${timeline}::bigint)
        ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`;
      // A database where no timeline was ever recorded is not a promotion.
      if (!recorded || this.policy !== 'all') return false;
      const changed = await tx`WITH next AS (
          UPDATE meta SET value = GREATEST(value + 1, ${Math.floor(Date.now() / 1000)}::bigint) WHERE key = 'last_uidvalidity' RETURNING value)
        UPDATE mailboxes SET uidvalidity = next.value FROM next WHERE selectable`;
      this.revalidated += changed.count;
      return true;
    });
    if (all) this.logger.warn('PostgreSQL primary on a new timeline: every mailbox has a new UIDVALIDITY (storage.postgres_promotion_uidvalidity = "all")', { timeline });
  }

  /**
   * Compares what was seen of each mailbox with what the primary has; a
   * mailbox that lost changes gets a new UIDVALIDITY; sessions of every
   * mailbox whose UIDVALIDITY changed (here or elsewhere) or that is gone hear of it.
   */
  async checkMailboxes(ids: readonly MailboxId[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 1000) await this.checkBatch(ids.slice(i, i + 1000));
  }

  private async checkBatch(ids: readonly MailboxId[]): Promise<void> {
    if (ids.length === 0) return;
    // What was seen, taken before the read: a commit noted while the read runs may be newer than its snapshot.
    const seen = new Map<MailboxId, Entry>();
    for (const id of ids) {
      const entry = this.marks.get(id);
      if (entry) seen.set(id, { ...entry, marks: entry.marks.map((m) => ({ ...m })) });
    }
    const rows = await pgIdempotent(this.sql, (sql) => sql<ForkRow[]>`SELECT ${sql.unsafe(COUNTERS_RETURNING)}, fork_uidnext, fork_modseq
      FROM mailboxes WHERE id = ANY(${ids as MailboxId[]}::bigint[])`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const lost: Lost[] = [];
    for (const [id, entry] of seen) {
      const row = byId.get(id);
      if (!row) {
        // Deleted, or its creation was lost: its sessions end.
        this.marks.delete(id);
        this.publishChanged(entry.accountId, id);
        continue;
      }
      if (row.uidvalidity !== entry.uidValidity) {
        this.marks.set(row);
        this.publishChanged(entry.accountId, id);
        continue;
      }
      let uidNext = 0;
      let modseq = 0;
      let behind: string | null = null;
      for (const mark of entry.marks) {
        // Changed since on a later timeline: what survived is what it had before that change.
        const later = row.counters_timeline > mark.timeline && row.fork_uidnext !== null && row.fork_modseq !== null;
        const survivedUidNext = later ? row.fork_uidnext! : row.uidnext;
        const survivedModseq = later ? row.fork_modseq! : row.highestmodseq;
        if (mark.uidNext > survivedUidNext || mark.modseq > survivedModseq) {
          behind = `seen UIDNEXT ${mark.uidNext} HIGHESTMODSEQ ${mark.modseq} (timeline ${mark.timeline}), survived ${survivedUidNext} ${survivedModseq}`;
        }
        uidNext = Math.max(uidNext, mark.uidNext);
        modseq = Math.max(modseq, mark.modseq);
      }
      if (behind) lost.push({ id, v: entry.uidValidity, u: uidNext, m: modseq, accountId: entry.accountId, why: behind });
      else this.marks.note(row);
    }
    if (lost.length === 0) return;
    await this.revalidate(lost);
  }

  /**
   * A new UIDVALIDITY for each mailbox still at the one seen (another process
   * may have given one already), and UIDNEXT/HIGHESTMODSEQ at least what was seen.
   */
  private async revalidate(lost: Lost[]): Promise<void> {
    const maxSeen = this.marks.maxUidValidity;
    const changed = await pgTransaction(this.sql, (tx) => tx<CountersRow[]>`WITH next AS (
        UPDATE meta SET value = GREATEST(value + 1, ${Math.floor(Date.now() / 1000)}::bigint, ${maxSeen + 1}::bigint)
        WHERE key = 'last_uidvalidity' RETURNING value)
      UPDATE mailboxes m SET uidvalidity = next.value,
        uidnext = GREATEST(m.uidnext, l.u), highestmodseq = GREATEST(m.highestmodseq, l.s)
      FROM next, unnest(${lost.map((l) => l.id)}::bigint[], ${lost.map((l) => l.v)}::bigint[],
        ${lost.map((l) => l.u)}::bigint[], ${lost.map((l) => l.m)}::bigint[]) AS l(id, v, u, s)
      WHERE m.id = l.id AND m.uidvalidity = l.v
      RETURNING ${tx.unsafe(COUNTERS_RETURNING.split(', ').map((c) => `m.${c}`).join(', '))}`);
    this.revalidated += changed.length;
    for (const row of changed) this.marks.set(row);
    for (const l of lost) {
      if (!changed.some((r) => r.id === l.id)) this.marks.delete(l.id); // changed by another process: read again when next seen
      this.publishChanged(l.accountId, l.id);
    }
    this.logger.warn('mailboxes lost changes in a database fail-over: new UIDVALIDITY, their sessions end', {
      mailboxes: lost.map((l) => `${l.id}: ${l.why}`),
      here: changed.length,
    });
  }

  /** Sessions with the mailbox selected check it (and end: new UIDVALIDITY, or gone); LIST/NOTIFY clients hear of it. */
  private publishChanged(accountId: AccountId, mailboxId: MailboxId): void {
    if (!this.events) return;
    const { repository } = this.events;
    try {
      this.events.publish({ kind: 'mailbox-changed', repository, accountId, mailboxId, modseq: 0 });
      this.events.publish({ kind: 'mailboxes-changed', repository, accountId });
    } catch (err) {
      this.logger.warn('rollback event not published', { err: err instanceof Error ? err.message : String(err) });
    }
  }
}
