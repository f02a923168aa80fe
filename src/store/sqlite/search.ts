// How the SQLite backend evaluates each text test of a SEARCH. SQLite cannot
// estimate how many rows an FTS5 query yields, so the store counts each
// term's index candidates (stopping at a bound) and compares them with the
// mailbox's size:
// - few (<= 1/8): a required term's candidates become the outer loop, so a
//   rare word costs a few lookups whatever the mailbox's size;
// - some (<= 1/2): the candidates filter the mailbox's rows before any text
//   is read;
// - many: the text is scanned (the index would only add work).
// The candidates are counted over the whole repository (the index is not per
// mailbox), the rows not indexed yet included (search-index.ts), and the
// exact test reads the text of candidates only: the index never reads more
// text than the scan of the mailbox would.

import type { SearchQuery } from '../../mail/types.js';
import {
  ftsTrigramQuery,
  indexableTextTerms,
  SQLITE_FTS,
  SQLITE_INDEXED_TO,
  requiredTextTerms,
  textTermKey,
  type TextPlan,
  type TextTerm,
} from '../shared/search-sql.js';
import type { SqlDb } from './db.js';

const DRIVE_RATIO = 1 / 8;
const INDEX_RATIO = 1 / 2;

/** The plan of each text test of `query` in a mailbox of `mailboxSize` messages. */
export function sqliteTextPlan(db: SqlDb, query: SearchQuery, mailboxSize: number): (t: TextTerm) => TextPlan {
  const terms = indexableTextTerms(query);
  if (terms.length === 0) return () => 'index';
  const indexLimit = Math.floor(mailboxSize * INDEX_RATIO);
  const count = db.stmt(`SELECT count(*) FROM (SELECT 1 FROM ${SQLITE_FTS} WHERE blob_text_fts MATCH ? LIMIT ?)`).pluck();
  // The rows the index does not hold yet are candidates of every term.
  const unindexed = db.stmt(`SELECT count(*) FROM (SELECT 1 FROM blob_text WHERE id > ${SQLITE_INDEXED_TO} LIMIT ?)`).pluck().get(indexLimit + 1) as number;
  const candidates = new Map<string, number>();
  for (const t of terms)
    candidates.set(textTermKey(t), unindexed + (count.get(ftsTrigramQuery(t.columns, t.term), indexLimit + 1) as number));
  let driver: string | null = null;
  let fewest = Math.floor(mailboxSize * DRIVE_RATIO);
  for (const t of requiredTextTerms(query)) {
    const n = candidates.get(textTermKey(t))!;
    if (n <= fewest) {
      driver = textTermKey(t);
      fewest = n;
    }
  }
  return (t) => {
    const key = textTermKey(t);
    if (key === driver) return 'drive';
    return (candidates.get(key) ?? Infinity) <= indexLimit ? 'index' : 'scan';
  };
}
