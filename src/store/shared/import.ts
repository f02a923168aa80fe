// What `petrel user move`'s importMailboxes does to the account's mailboxes
// (MailStore.importMailboxes), worked out once for both backends: mailboxes
// are matched by UIDVALIDITY, which a RENAME keeps and a re-CREATE changes.

import type { ImportedMailbox } from '../../mail/ports.js';
import type { MailboxInfo } from '../../mail/types.js';
import { toMailboxInfo, type MailboxRow } from './rows.js';

export interface MailboxImportPlan {
  /** Mailboxes the source no longer has (deleted with their messages). */
  drop: number[];
  /** Renamed mailboxes, first moved out of the way under parkedName(id), so swapped names never collide. */
  park: number[];
  /** Existing mailboxes, with their new name, special-use and selectability. */
  update: Array<{ id: number; mailbox: ImportedMailbox }>;
  /** Mailboxes to create with the given UIDVALIDITY. */
  insert: ImportedMailbox[];
  /** meta.last_uidvalidity must reach this, so mailboxes created later get a greater one. */
  highestUidValidity: number;
}

/** A name no client can give (IMAP names exclude control characters). */
export const parkedName = (id: number): string => `\u0001petrel-move\u0001${id}`;

export function planMailboxImport(here: readonly MailboxRow[], wanted: readonly ImportedMailbox[]): MailboxImportPlan {
  const byValidity = new Map(here.map((r) => [Number(r.uidvalidity), r]));
  const keep = new Set(wanted.map((m) => m.uidValidity));
  const plan: MailboxImportPlan = {
    drop: here.filter((r) => !keep.has(Number(r.uidvalidity))).map((r) => r.id),
    park: [],
    update: [],
    insert: [],
    highestUidValidity: Math.max(0, ...wanted.map((m) => m.uidValidity)),
  };
  for (const mailbox of wanted) {
    const row = byValidity.get(mailbox.uidValidity);
    if (!row) {
      plan.insert.push(mailbox);
      continue;
    }
    if (row.name !== mailbox.name) plan.park.push(row.id);
    plan.update.push({ id: row.id, mailbox });
  }
  return plan;
}

/** The account's mailboxes after the import, in the order they were wanted. */
export function inWantedOrder(rows: readonly MailboxRow[], wanted: readonly ImportedMailbox[]): MailboxInfo[] {
  const byValidity = new Map(rows.map((r) => [Number(r.uidvalidity), toMailboxInfo(r)]));
  return wanted.map((m) => byValidity.get(m.uidValidity)!);
}
