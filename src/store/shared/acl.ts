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
export const SHARED_MAILBOX_COLUMNS = MAILBOX_COLUMNS.split(',')
  .map((c) => `m.${c.trim()}`)
  .join(', ');

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
