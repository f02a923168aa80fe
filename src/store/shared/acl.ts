// ACL rows (RFC 4314) shared by both backends: table mailbox_acl
// (mailbox_id, identifier, rights), removed with the mailbox (foreign key)
// and when DELETE leaves a \Noselect placeholder (RFC 4314 4: DELETE MUST
// delete the ACL). RENAME keeps the mailbox id, so the ACL stays.

import type { AclEntry } from '../../mail/acl.js';
import type { MailboxInfo } from '../../mail/types.js';
import { MAILBOX_COLUMNS, toMailboxInfo, type MailboxRow } from './rows.js';

export interface AclRow {
  identifier: string;
  rights: string;
}

export const toAclEntry = (r: AclRow): AclEntry => ({ identifier: r.identifier, rights: r.rights });

/** Mailboxes (with their id) having an entry for one of the identifiers: the columns to select, prefixed m. */
const SHARED_MAILBOX_COLUMNS = MAILBOX_COLUMNS.split(',')
  .map((c) => `m.${c.trim()}`)
  .join(', ');

/** The statements of both backends, "?" placeholders (PostgreSQL numbers them). */
export const ACL_SQL = {
  get: `SELECT identifier, rights FROM mailbox_acl WHERE mailbox_id = ? ORDER BY identifier`,
  mailboxExists: `SELECT 1 FROM mailboxes WHERE id = ?`,
  upsert: `INSERT INTO mailbox_acl (mailbox_id, identifier, rights) VALUES (?, ?, ?)
    ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights`,
  remove: `DELETE FROM mailbox_acl WHERE mailbox_id = ? AND identifier = ?`,
  /** Target, source: the source's entries set on the target (CreateMailboxOptions.aclFrom). */
  copy: `INSERT INTO mailbox_acl (mailbox_id, identifier, rights) SELECT ?, identifier, rights FROM mailbox_acl WHERE mailbox_id = ?
    ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights`,
  /** `identifierIn`: the dialect's test of `identifier` against the one list parameter. */
  mailboxesWithAcl: (identifierIn: string) => `SELECT ${SHARED_MAILBOX_COLUMNS}, a.identifier, a.rights
    FROM mailboxes m JOIN mailbox_acl a ON a.mailbox_id = m.id
    WHERE m.id IN (SELECT mailbox_id FROM mailbox_acl WHERE ${identifierIn})
    ORDER BY m.account_id, m.name, a.identifier`,
};

/** Groups joined rows (a mailbox row with one ACL entry each) into mailboxes with their whole ACL. */
export function groupSharedRows(rows: Array<MailboxRow & { identifier: string; rights: string }>): Array<{ mailbox: MailboxInfo; acl: AclEntry[] }> {
  const out = new Map<number, { mailbox: MailboxInfo; acl: AclEntry[] }>();
  for (const r of rows) {
    const id = Number(r.id);
    let e = out.get(id);
    if (!e) out.set(id, (e = { mailbox: toMailboxInfo(r), acl: [] }));
    e.acl.push({ identifier: r.identifier, rights: r.rights });
  }
  return [...out.values()];
}
