// The store's own invariants, checked by integrityCheck() of the SQL
// backends: the same queries run on SQLite and PostgreSQL (no parameters).

import { COUNTER_MISMATCH_SQL, counterProblems } from './counters.js';

const COUNTERS = `SELECT mb.id, mb.name, mb.uidnext, max(x.uid) AS maxuid, mb.highestmodseq, max(x.modseq) AS maxmodseq
  FROM mailboxes mb JOIN (
    SELECT mailbox_id, uid, modseq FROM messages UNION ALL SELECT mailbox_id, uid, modseq FROM tombstones
  ) x ON x.mailbox_id = mb.id
  GROUP BY mb.id HAVING max(x.uid) >= mb.uidnext OR max(x.modseq) > mb.highestmodseq`;

const REFS = `SELECT b.blob_id, b.refs, (SELECT count(*) FROM messages m WHERE m.blob_id = b.blob_id) AS actual
  FROM blobs b WHERE b.refs <> (SELECT count(*) FROM messages m WHERE m.blob_id = b.blob_id)`;

const ORPHAN_TEXT = `SELECT count(*) AS n FROM blob_text t WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.blob_id = t.blob_id)`;
const MISSING_TEXT = `SELECT count(*) AS n FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_text t WHERE t.blob_id = b.blob_id)`;

interface CounterRow {
  id: number;
  name: string;
  uidnext: number;
  maxuid: number;
  highestmodseq: number;
  maxmodseq: number;
}

export const INVARIANT_QUERIES = {
  counters: COUNTERS,
  refs: REFS,
  orphanText: ORPHAN_TEXT,
  missingText: MISSING_TEXT,
  mailboxCounters: COUNTER_MISMATCH_SQL,
} as const;

/** The rows of each INVARIANT_QUERIES query, as the backend read them. */
export interface InvariantRows {
  counters: unknown[];
  refs: unknown[];
  orphanText: unknown[];
  missingText: unknown[];
  /** STATUS counters that disagree with the live messages (shared/counters.ts). */
  mailboxCounters: unknown[];
}

/** Describes what the invariant queries found wrong (empty = fine). */
export function invariantProblems(rows: InvariantRows): string[] {
  const problems: string[] = [];
  for (const r of rows.counters as CounterRow[]) {
    if (Number(r.maxuid) >= Number(r.uidnext))
      problems.push(`mailbox ${r.id} (${r.name}): uidnext ${r.uidnext} <= max uid ${r.maxuid}`);
    if (Number(r.maxmodseq) > Number(r.highestmodseq))
      problems.push(`mailbox ${r.id} (${r.name}): highestmodseq ${r.highestmodseq} < max modseq ${r.maxmodseq}`);
  }
  for (const r of rows.refs as Array<{ blob_id: string; refs: number; actual: number }>)
    problems.push(`blob ${r.blob_id}: reference count ${r.refs}, actual ${r.actual}`);
  const count = (list: unknown[]) => Number((list as Array<{ n: number }>)[0]?.n ?? 0);
  const orphanText = count(rows.orphanText);
  if (orphanText > 0) problems.push(`${orphanText} search text rows without a blob`);
  const missingText = count(rows.missingText);
  if (missingText > 0) problems.push(`${missingText} blobs without search text`);
  problems.push(...counterProblems(rows.mailboxCounters));
  return problems;
}
