// integrityCheck(): SQLite's own checks plus the store's invariants.

import { INVARIANT_QUERIES, invariantProblems } from '../shared/integrity.js';
import type { SqlDb } from './db.js';

export function integrityProblems(db: SqlDb): string[] {
  const problems: string[] = [];
  for (const row of db.db.pragma('integrity_check') as Array<{ integrity_check: string }>) {
    if (row.integrity_check !== 'ok') problems.push(`integrity_check: ${row.integrity_check}`);
  }
  for (const row of db.db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>) {
    problems.push(`foreign key: ${row.table} row ${row.rowid} points to a missing ${row.parent}`);
  }
  const all = (sql: string) => db.stmt(sql).all();
  problems.push(
    ...invariantProblems({
      counters: all(INVARIANT_QUERIES.counters),
      refs: all(INVARIANT_QUERIES.refs),
      orphanText: all(INVARIANT_QUERIES.orphanText),
      missingText: all(INVARIANT_QUERIES.missingText),
      mailboxCounters: all(INVARIANT_QUERIES.mailboxCounters),
    }),
  );
  return problems;
}
