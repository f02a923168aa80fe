// The PostgreSQL side of `petrel user move` (src/cluster/user-move.ts): writing an
// account's mailboxes and messages with the UIDVALIDITY, UIDs and modseqs
// they had in another repository, and holding (then dropping) the account's
// data in the repository it leaves.

import { keywordsToColumn, parseFlags } from '../../mail/flags.js';
import { MailError } from '../../mail/errors.js';
import type { AccountHold, ImportBatch, ImportedMailbox } from '../../mail/ports.js';
import type { AccountId, MailboxId, MailboxInfo } from '../../mail/types.js';
import { internalDateMs, MAILBOX_COLUMNS, type MailboxRow } from '../shared/rows.js';
import { inWantedOrder, parkedName, planMailboxImport } from '../shared/import.js';
import { bodiesMissing, ensureBlobs, bodiesThere } from './messages.js';
import type { Pg, PgTx } from './pg.js';

export async function importMailboxes(tx: PgTx, accountId: AccountId, wanted: ImportedMailbox[]): Promise<MailboxInfo[]> {
  const here = await tx<MailboxRow[]>`SELECT ${tx.unsafe(MAILBOX_COLUMNS)} FROM mailboxes
    WHERE account_id = ${accountId} ORDER BY id FOR UPDATE`;
  const plan = planMailboxImport(here, wanted);
  if (plan.drop.length > 0) await tx`DELETE FROM mailboxes WHERE id = ANY(${plan.drop}::bigint[])`;
  for (const id of plan.park) await tx`UPDATE mailboxes SET name = ${parkedName(id)} WHERE id = ${id}`;
  for (const { id, mailbox: m } of plan.update) {
    await tx`UPDATE mailboxes SET name = ${m.name}, special_use = ${m.specialUse}, selectable = ${m.selectable} WHERE id = ${id}`;
  }
  for (const m of plan.insert) {
    await tx`INSERT INTO mailboxes (account_id, name, uidvalidity, special_use, selectable)
      VALUES (${accountId}, ${m.name}, ${m.uidValidity}, ${m.specialUse}, ${m.selectable})`;
  }
  await tx`UPDATE meta SET value = GREATEST(value, ${plan.highestUidValidity}::bigint) WHERE key = 'last_uidvalidity'`;
  const rows = await tx<MailboxRow[]>`SELECT ${tx.unsafe(MAILBOX_COLUMNS)} FROM mailboxes WHERE account_id = ${accountId}`;
  return inWantedOrder(rows, wanted);
}

/** `bodiesHere`: the bodies are in this database, and must be there (messages.bodiesThere). */
export async function importMessages(tx: PgTx, mailboxId: MailboxId, batch: ImportBatch, bodiesHere = false): Promise<void> {
  const [mailbox] = await tx`SELECT 1 FROM mailboxes WHERE id = ${mailboxId} FOR UPDATE`;
  if (!mailbox) throw new MailError('NOT_FOUND', `mailbox ${mailboxId} does not exist`);
  const items = batch.messages;
  if (items.length > 0) {
    if (bodiesHere && !(await bodiesThere(tx, items))) throw bodiesMissing();
    await ensureBlobs(tx, items);
    const flags = items.map((m) => parseFlags(m.flags));
    const uids = items.map((m) => m.uid);
    const modseqs = items.map((m) => m.modseq);
    const system = flags.map((f) => f.system);
    const keywords = flags.map((f) => keywordsToColumn(f.keywords));
    // Rows already here only change flags and modseq (a body never changes);
    // the rest are inserted. Two statements, so each counters trigger sees its own rows.
    await tx`UPDATE messages m SET modseq = v.modseq, system_flags = v.system, keywords = v.keywords
      FROM unnest(${uids}::bigint[], ${modseqs}::bigint[], ${system}::int[], ${keywords}::text[]) AS v(uid, modseq, system, keywords)
      WHERE m.mailbox_id = ${mailboxId} AND m.uid = v.uid AND m.expunged_modseq IS NULL`;
    await tx`INSERT INTO messages (mailbox_id, uid, modseq, system_flags, keywords, internal_date, save_date, size, blob_id)
      SELECT ${mailboxId}, * FROM unnest(${uids}::bigint[], ${modseqs}::bigint[], ${system}::int[], ${keywords}::text[],
        ${items.map(internalDateMs)}::bigint[], ${items.map((m) => m.saveDate.getTime())}::bigint[],
        ${items.map((m) => m.index.size)}::bigint[], ${items.map((m) => m.blobId)}::text[])
      ON CONFLICT (mailbox_id, uid) DO NOTHING`;
  }
  if (batch.expunged.length > 0) {
    const uids = batch.expunged.map((e) => e.uid);
    const modseqs = batch.expunged.map((e) => e.modseq);
    await tx`UPDATE messages m SET modseq = v.modseq, expunged_modseq = v.modseq, expunged_at = ${Date.now()}
      FROM unnest(${uids}::bigint[], ${modseqs}::bigint[]) AS v(uid, modseq)
      WHERE m.mailbox_id = ${mailboxId} AND m.uid = v.uid AND m.expunged_modseq IS NULL`;
    // Expunged before they were copied: only the tombstone QRESYNC needs.
    await tx`INSERT INTO tombstones (mailbox_id, uid, modseq)
      SELECT ${mailboxId}, v.uid, v.modseq FROM unnest(${uids}::bigint[], ${modseqs}::bigint[]) AS v(uid, modseq)
      WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.mailbox_id = ${mailboxId} AND m.uid = v.uid)
      ON CONFLICT (mailbox_id, uid) DO NOTHING`;
  }
  await tx`UPDATE mailboxes SET uidnext = GREATEST(uidnext, ${batch.uidNext}::bigint),
    highestmodseq = GREATEST(highestmodseq, ${batch.highestModseq}::bigint) WHERE id = ${mailboxId}`;
}

/** Deletes what the account has in this database, except its account row (the directory's, in the default repository). */
async function dropAccountData(tx: PgTx, accountId: AccountId): Promise<void> {
  // Its /private server annotations; those on its own mailboxes go with them.
  await tx`DELETE FROM metadata_entries WHERE owner_id = ${accountId} AND mailbox_id IS NULL`;
  await tx`DELETE FROM subscriptions WHERE account_id = ${accountId}`;
  await tx`DELETE FROM mailboxes WHERE account_id = ${accountId}`;
}

/**
 * A transaction that holds the account's mailbox rows (every writer locks
 * its mailbox row first) until the caller decides: drop the data, or let go.
 */
export async function holdAccount(sql: Pg, accountId: AccountId): Promise<AccountHold> {
  let decide!: (drop: boolean) => void;
  const decision = new Promise<boolean>((resolve) => (decide = resolve));
  let locked!: () => void;
  const lockTaken = new Promise<void>((resolve) => (locked = resolve));
  const done = sql.begin(async (tx) => {
    await tx`SELECT id FROM mailboxes WHERE account_id = ${accountId} ORDER BY id FOR UPDATE`;
    locked();
    if (await decision) await dropAccountData(tx, accountId);
  });
  // A failure before the lock (connection lost, deadlock) is the caller's error.
  await Promise.race([lockTaken, done]);
  return {
    drop: async () => {
      decide(true);
      await done;
    },
    release: async () => {
      decide(false);
      await done;
    },
  };
}
