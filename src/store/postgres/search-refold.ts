// Migration step of the PostgreSQL mail store: the stored search text
// (blob_text) folded again by this Petrel's foldText (i;unicode-casemap,
// RFC 5051), from each blob's index, since SQL cannot run our fold and the
// fold is not idempotent (the old text is no source). Done in batches in key
// order, each a short statement (the pool's statement deadline), inside the
// migration's transaction: a failure leaves the old text and the old schema
// version together. The pg_trgm indexes follow the updated rows by themselves.
// It runs before the body's words exist (migration 13, body-words.ts): reused
// later, it would have to write body_words too.

import { searchTextOfStoredIndex } from '../shared/rows.js';
import type { PgTx } from './pg.js';

/** Rows per batch: bounded memory (a body's text is bounded by the indexer) and short statements. */
const BATCH_ROWS = 200;

export async function refoldSearchText(tx: PgTx, batchRows = BATCH_ROWS): Promise<void> {
  let after = '';
  for (;;) {
    const rows = await tx<Array<{ blob_id: string; idx: string }>>`
      SELECT t.blob_id, b.idx FROM blob_text t JOIN blobs b ON b.blob_id = t.blob_id
      WHERE t.blob_id > ${after} ORDER BY t.blob_id LIMIT ${batchRows}`;
    if (rows.length === 0) return;
    after = rows[rows.length - 1]!.blob_id;
    const ids: string[] = [];
    const headers: string[] = [];
    const bodies: string[] = [];
    for (const row of rows) {
      // An index we cannot read keeps its row's text.
      const text = searchTextOfStoredIndex(row.idx);
      if (text === null) continue;
      ids.push(row.blob_id);
      headers.push(text.headerText);
      bodies.push(text.bodyText);
    }
    if (ids.length === 0) continue;
    await tx`UPDATE blob_text AS t SET header_text = v.header_text, body_text = v.body_text
      FROM unnest(${ids}::text[], ${headers}::text[], ${bodies}::text[]) AS v(blob_id, header_text, body_text)
      WHERE t.blob_id = v.blob_id`;
  }
}
