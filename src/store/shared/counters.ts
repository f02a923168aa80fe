// The per-mailbox counters behind STATUS (MESSAGES, UNSEEN, DELETED, SIZE,
// DELETED-STORAGE) and quota usage: columns of the mailbox row, kept by
// triggers on messages in the transaction of every change (append, copy,
// move, flag change, expunge, delete), so STATUS reads one row instead of
// counting a mailbox's messages. Only live rows (expunged_modseq IS NULL)
// count. Both backends build their triggers, the initialising UPDATE of
// their migration and the integrity query from the definitions here.

import { DELETED, SEEN } from '../../mail/flags.js';
import type { MailboxCounts } from '../../mail/types.js';

/**
 * Expressions of one message row's contribution to each counter; `r` is the
 * row's alias (NEW, OLD, n, ...). Migrations are built from these: changing
 * one needs a new migration that replaces the triggers and recounts.
 */
const CONTRIBUTIONS: ReadonlyArray<{ column: string; of: (r: string) => string }> = [
  { column: 'message_count', of: (r) => `CASE WHEN ${r}.expunged_modseq IS NULL THEN 1 ELSE 0 END` },
  {
    column: 'unseen_count',
    of: (r) => `CASE WHEN ${r}.expunged_modseq IS NULL AND (${r}.system_flags & ${SEEN}) = 0 THEN 1 ELSE 0 END`,
  },
  {
    column: 'deleted_count',
    of: (r) => `CASE WHEN ${r}.expunged_modseq IS NULL AND (${r}.system_flags & ${DELETED}) <> 0 THEN 1 ELSE 0 END`,
  },
  { column: 'total_size', of: (r) => `CASE WHEN ${r}.expunged_modseq IS NULL THEN ${r}.size ELSE 0 END` },
  {
    column: 'deleted_size',
    of: (r) => `CASE WHEN ${r}.expunged_modseq IS NULL AND (${r}.system_flags & ${DELETED}) <> 0 THEN ${r}.size ELSE 0 END`,
  },
];

/** The counter columns of mailboxes, in MailboxCounts order. */
export const COUNTER_COLUMNS = CONTRIBUTIONS.map((c) => c.column);

/** The system flag bits the counters depend on (a change of other flags leaves them alone). */
export const COUNTED_FLAGS = SEEN | DELETED;

/** ALTER TABLE statements adding the counters (`type`: INTEGER or BIGINT). */
export function addCounterColumns(type: string): string {
  return COUNTER_COLUMNS.map((c) => `ALTER TABLE mailboxes ADD COLUMN ${c} ${type} NOT NULL DEFAULT 0;`).join('\n');
}

/** The counters of every mailbox recomputed from its messages (a migration's initial values). */
export const INIT_COUNTERS_SQL = `UPDATE mailboxes SET (${COUNTER_COLUMNS.join(', ')}) = (
  SELECT ${CONTRIBUTIONS.map((c) => `coalesce(sum(${c.of('m')}), 0)`).join(', ')}
  FROM messages m WHERE m.mailbox_id = mailboxes.id AND m.expunged_modseq IS NULL);`;

/**
 * SET list adding `plus` rows' and subtracting `minus` rows' contributions to
 * each counter (SQLite row triggers: NEW and OLD).
 */
export function counterSetList(plus: string | null, minus: string | null): string {
  return CONTRIBUTIONS.map((c) => {
    let e = c.column;
    if (plus) e += ` + ${c.of(plus)}`;
    if (minus) e += ` - ${c.of(minus)}`;
    return `${c.column} = ${e}`;
  }).join(', ');
}

/**
 * PostgreSQL statement triggers: one UPDATE applying the summed contributions
 * of the transition tables `plus` (added rows) and `minus` (removed rows) to
 * each mailbox they touch. Mailboxes whose counters do not move (a keyword
 * change, pruning expunged rows) are not updated, so not locked.
 */
export function counterDeltaSql(plus: string | null, minus: string | null): string {
  const parts: string[] = [];
  const cols = (alias: string, sign: string) => CONTRIBUTIONS.map((c) => `${sign}(${c.of(alias)}) AS ${c.column}`).join(', ');
  if (plus) parts.push(`SELECT n.mailbox_id, ${cols('n', '')} FROM ${plus} n WHERE n.expunged_modseq IS NULL`);
  if (minus) parts.push(`SELECT o.mailbox_id, ${cols('o', '-')} FROM ${minus} o WHERE o.expunged_modseq IS NULL`);
  const sums = COUNTER_COLUMNS.map((c) => `sum(x.${c}) AS ${c}`).join(', ');
  return `UPDATE mailboxes mb SET ${COUNTER_COLUMNS.map((c) => `${c} = mb.${c} + d.${c}`).join(', ')}
    FROM (SELECT x.mailbox_id, ${sums} FROM (${parts.join(' UNION ALL ')}) x GROUP BY x.mailbox_id) d
    WHERE mb.id = d.mailbox_id AND (${COUNTER_COLUMNS.map((c) => `d.${c} <> 0`).join(' OR ')})`;
}

/** Mailboxes whose counters disagree with their live messages (integrity check; no parameters, both dialects). */
export const COUNTER_MISMATCH_SQL = `SELECT mb.id, mb.name, ${COUNTER_COLUMNS.map((c) => `mb.${c}, coalesce(a.${c}, 0) AS actual_${c}`).join(', ')}
  FROM mailboxes mb LEFT JOIN (
    SELECT m.mailbox_id, ${CONTRIBUTIONS.map((c) => `sum(${c.of('m')}) AS ${c.column}`).join(', ')}
    FROM messages m WHERE m.expunged_modseq IS NULL GROUP BY m.mailbox_id
  ) a ON a.mailbox_id = mb.id
  WHERE ${COUNTER_COLUMNS.map((c) => `mb.${c} <> coalesce(a.${c}, 0)`).join(' OR ')}`;

/** Describes the rows of COUNTER_MISMATCH_SQL. */
export function counterProblems(rows: unknown[]): string[] {
  const problems: string[] = [];
  for (const r of rows as Array<Record<string, unknown>>) {
    const wrong = COUNTER_COLUMNS.filter((c) => Number(r[c]) !== Number(r[`actual_${c}`])).map(
      (c) => `${c} ${String(r[c])}, actual ${String(r[`actual_${c}`])}`,
    );
    problems.push(`mailbox ${String(r.id)} (${String(r.name)}): ${wrong.join('; ')}`);
  }
  return problems;
}

/** SELECT list of MailboxCounts from the mailbox row. */
export const COUNTS_COLUMNS = `message_count, unseen_count, deleted_count, total_size, deleted_size, uidnext, uidvalidity, highestmodseq`;

export interface CountsRow {
  message_count: number;
  unseen_count: number;
  deleted_count: number;
  total_size: number;
  deleted_size: number;
  uidnext: number;
  uidvalidity: number;
  highestmodseq: number;
}

export function toMailboxCounts(r: CountsRow): MailboxCounts {
  return {
    messages: Number(r.message_count),
    unseen: Number(r.unseen_count),
    deleted: Number(r.deleted_count),
    size: Number(r.total_size),
    deletedSize: Number(r.deleted_size),
    uidNext: Number(r.uidnext),
    uidValidity: Number(r.uidvalidity),
    highestModseq: Number(r.highestmodseq),
  };
}
