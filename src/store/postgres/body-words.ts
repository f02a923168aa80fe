// Migration step of the PostgreSQL mail store: the body's SEARCH index moves
// from the body text to its distinct words (blob_text.body_words, see
// bodyWords in ../shared/search-sql.ts). pg_trgm sorts every trigram of the
// text it indexes, duplicates included; on the body text that was most of
// an append's PostgreSQL CPU, and the distinct words hold the same trigrams.
//
// Petrel writes body_words with each new text. The SQL function below makes
// it for the rows already there (in batches, each a short statement: the
// pool's statement deadline) and, through a trigger, for a row inserted
// without it (an older Petrel still running during an upgrade).

import { BODY_WORD_SEPARATORS } from '../shared/search-sql.js';
import type { Migration, PgTx } from './pg.js';

/** The separators other than the space, as SQL: each becomes a space before the split. */
const OTHER_SEPARATORS = [...BODY_WORD_SEPARATORS]
  .filter((c) => c !== ' ')
  .map((c) => `chr(${c.charCodeAt(0)})`)
  .join(' || ');
const SPACES = ' '.repeat([...BODY_WORD_SEPARATORS].length - 1);

/** Rows per batch of the backfill. */
const BATCH_ROWS = 200;

export const BODY_WORDS_MIGRATION: Migration = {
  description: "SEARCH index of the body on its distinct words (blob_text.body_words) instead of the body's text",
  sql: `
  DROP INDEX IF EXISTS blob_text_body_trgm;
  ALTER TABLE blob_text ADD COLUMN body_words TEXT;
  DO $$
  BEGIN
    ALTER TABLE blob_text ALTER COLUMN body_words SET COMPRESSION lz4;
  EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'PostgreSQL was built without lz4: the body''s words are compressed with pglz';
  END $$;
  -- The same value as bodyWords() (a test compares them), in another order.
  CREATE FUNCTION petrel_body_words(body TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(' ' || string_agg(DISTINCT w, ' ') || ' ', ' ')
    FROM string_to_table(translate(body, ${OTHER_SEPARATORS}, '${SPACES}'), ' ') AS w WHERE w <> ''
  $$;
  CREATE FUNCTION petrel_blob_text_words() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    NEW.body_words := petrel_body_words(NEW.body_text);
    RETURN NEW;
  END $$;
  CREATE TRIGGER blob_text_words BEFORE INSERT ON blob_text FOR EACH ROW
    WHEN (NEW.body_words IS NULL) EXECUTE FUNCTION petrel_blob_text_words();
  CREATE INDEX blob_text_words_trgm ON blob_text USING gin (body_words gin_trgm_ops);
  `,
  run: fillBodyWords,
};

/**
 * Gives every row its body_words, in key order, then forbids NULL for new
 * rows: a CHECK constraint NOT VALID, which needs no second scan of the
 * table (SET NOT NULL would scan it in one statement, under the statement
 * deadline); every existing row was filled just before.
 */
export async function fillBodyWords(tx: PgTx, batchRows = BATCH_ROWS): Promise<void> {
  let after = '';
  for (;;) {
    const [row] = await tx<Array<{ last: string | null }>>`
      WITH batch AS (SELECT blob_id FROM blob_text WHERE blob_id > ${after} ORDER BY blob_id LIMIT ${batchRows}),
        filled AS (UPDATE blob_text t SET body_words = petrel_body_words(t.body_text) FROM batch b WHERE t.blob_id = b.blob_id)
      SELECT max(blob_id) AS last FROM batch`;
    if (row?.last == null) break;
    after = row.last;
  }
  await tx`ALTER TABLE blob_text ADD CONSTRAINT blob_text_body_words_set CHECK (body_words IS NOT NULL) NOT VALID`;
}
