// The SEARCH statement of the SQL backends: the shared compiler's predicate
// over the shared schema (messages m, blobs b, blob_text t). The compiled
// parameters come first, the mailbox id last.

import { compileSearch, type SearchColumns, type SearchDialect } from '../../mail/search.js';
import type { SearchQuery } from '../../mail/types.js';

export const SEARCH_COLUMNS: SearchColumns = {
  uid: 'm.uid',
  modseq: 'm.modseq',
  systemFlags: 'm.system_flags',
  keywords: 'm.keywords',
  internalDate: 'm.internal_date',
  saveDate: 'm.save_date',
  size: 'm.size',
  sentDay: 'b.sent_day',
  headerText: 't.header_text',
  bodyText: 't.body_text',
};

/** SQL returning the uids of live messages of one mailbox matching `query`, ascending; bind `params`. */
export function searchStatement(
  query: SearchQuery,
  dialect: SearchDialect,
  mailboxId: number,
): { sql: string; params: Array<string | number> } {
  const compiled = compileSearch(query, dialect, SEARCH_COLUMNS);
  const joins =
    (compiled.uses.sentDay ? ' JOIN blobs b ON b.blob_id = m.blob_id' : '') +
    (compiled.uses.text ? ' JOIN blob_text t ON t.blob_id = m.blob_id' : '');
  const mailbox = dialect.placeholder(compiled.params.length + 1);
  const sql = `SELECT m.uid FROM messages m${joins}
    WHERE ${compiled.sql} AND m.mailbox_id = ${mailbox} AND m.expunged_modseq IS NULL ORDER BY m.uid`;
  return { sql, params: [...compiled.params, mailboxId] };
}
