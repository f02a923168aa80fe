// integrityCheck(): SQLite's own checks plus the store's invariants.

import type { SqlDb } from './db.js';

export function integrityProblems(db: SqlDb): string[] {
  const problems: string[] = [];
  for (const row of db.db.pragma('integrity_check') as Array<{ integrity_check: string }>) {
    if (row.integrity_check !== 'ok') problems.push(`integrity_check: ${row.integrity_check}`);
  }
  for (const row of db.db.pragma('foreign_key_check') as Array<{ table: string; rowid: number; parent: string }>) {
    problems.push(`foreign key: ${row.table} row ${row.rowid} points to a missing ${row.parent}`);
  }
  const uidnext = db
    .stmt(
      `SELECT mb.id, mb.name, mb.uidnext, max(x.uid) AS maxuid, mb.highestmodseq, max(x.modseq) AS maxmodseq
       FROM mailboxes mb JOIN (
         SELECT mailbox_id, uid, modseq FROM messages UNION ALL SELECT mailbox_id, uid, modseq FROM tombstones
       ) x ON x.mailbox_id = mb.id
       GROUP BY mb.id HAVING max(x.uid) >= mb.uidnext OR max(x.modseq) > mb.highestmodseq`,
    )
    .all() as Array<{ id: number; name: string; uidnext: number; maxuid: number; highestmodseq: number; maxmodseq: number }>;
  for (const r of uidnext) {
    if (r.maxuid >= r.uidnext) problems.push(`mailbox ${r.id} (${r.name}): uidnext ${r.uidnext} <= max uid ${r.maxuid}`);
    if (r.maxmodseq > r.highestmodseq)
      problems.push(`mailbox ${r.id} (${r.name}): highestmodseq ${r.highestmodseq} < max modseq ${r.maxmodseq}`);
  }
  const refs = db
    .stmt(
      `SELECT b.blob_id, b.refs, (SELECT count(*) FROM messages m WHERE m.blob_id = b.blob_id) AS actual
       FROM blobs b WHERE b.refs <> (SELECT count(*) FROM messages m WHERE m.blob_id = b.blob_id)`,
    )
    .all() as Array<{ blob_id: string; refs: number; actual: number }>;
  for (const r of refs) problems.push(`blob ${r.blob_id}: reference count ${r.refs}, actual ${r.actual}`);
  const orphanText = db
    .stmt(`SELECT count(*) FROM blob_text t WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.blob_id = t.blob_id)`)
    .pluck()
    .get() as number;
  if (orphanText > 0) problems.push(`${orphanText} search text rows without a blob`);
  const missingText = db
    .stmt(`SELECT count(*) FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM blob_text t WHERE t.blob_id = b.blob_id)`)
    .pluck()
    .get() as number;
  if (missingText > 0) problems.push(`${missingText} blobs without search text`);
  return problems;
}
