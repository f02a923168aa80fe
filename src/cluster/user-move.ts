// Online migration of one account between repositories (ARCHITECTURE.md,
// decision 10; `petrel user move`):
//
// 1. copy while the user works: every mailbox (by UIDVALIDITY, so renames,
//    creations and deletions meanwhile follow), its messages with their
//    UIDs, modseqs, flags and dates (bodies copied into the target's blob
//    store), expunge tombstones, UIDNEXT, HIGHESTMODSEQ, subscriptions, ACLs
//    and METADATA; then again, each mailbox only for changes after the
//    modseq the last pass copied, until a pass finds little to do;
// 2. freeze: the directory marks the account frozen for a bounded time
//    (logins NO [UNAVAILABLE], LMTP 451; servers end its IMAP sessions on
//    the account-changed event) and the source's mailbox rows are locked
//    against writers already past those checks;
// 3. a last pass, then one directory statement switches the account to the
//    target and ends the freeze (only if the freeze has not lapsed);
// 4. the source's copy is deleted in the locking transaction.
//
// A crash before 3 leaves the account in the source (the target's partial
// copy is wiped by the next run; a freeze lapses by itself); a crash after 3
// leaves it in the target, and the next run deletes what is left in the source.

import { isMailError, MailError } from '../mail/errors.js';
import type { AccountHold, ImportedMessage } from '../mail/ports.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { Account, BlobId, MailboxInfo, MessageMeta, UidSet } from '../mail/types.js';

export interface MoveOptions {
  /** Longest the freeze may last; past it the freeze lapses and the move gives up (run again). */
  freezeSeconds: number;
  /** Tells every server, now, that the account changed (account-changed): they end its sessions. */
  announce(): Promise<void>;
  /** Called once the account is frozen, before the last pass (tests observe the freeze here). */
  onFrozen?(): Promise<void>;
}

export interface MoveReport {
  /** 'moved', or 'cleaned' when the account already was in the target and only leftovers were removed. */
  outcome: 'moved' | 'cleaned';
  mailboxes: number;
  /** Message rows written in the target, over all passes. */
  messages: number;
  /** Bodies streamed into the target's blob store (those it already had are deduplicated there). */
  blobs: number;
  /** Passes before the freeze. */
  passes: number;
  /** From setting the freeze to ending it, milliseconds. */
  freezeMs: number;
}

/** A pass that copies this few message changes or fewer is the last one before the freeze. */
const QUIET_CHANGES = 50;
const MAX_LIVE_PASSES = 8;
/** Messages per importMessages transaction. */
const BATCH = 500;

export async function moveAccount(repos: Repositories, name: string, targetName: string, options: MoveOptions): Promise<MoveReport> {
  const account = await repos.directory.findAccount(name);
  if (!account) throw new MailError('NOT_FOUND', `no such user ${JSON.stringify(name)}`);
  const target = await repos.byName(targetName);
  if (account.repository === target.name) {
    await dropLeftovers(repos, account, target);
    // The run that switched may have died before it told the servers.
    await options.announce();
    return { outcome: 'cleaned', mailboxes: 0, messages: 0, blobs: 0, passes: 0, freezeMs: 0 };
  }
  const source = await repos.forAccount(account);
  if (!source.store.holdAccount || !target.store.importMailboxes || !target.store.importMessages || !target.store.holdAccount) {
    throw new MailError('CANNOT', 'these repositories cannot move accounts (PostgreSQL repositories only)');
  }
  if (source.blobs === target.blobs) throw new MailError('CANNOT', `repositories ${source.name} and ${target.name} share a blob store`);

  // The account row the target's mailboxes belong to, with the quota checked there.
  await repos.adoptAccount({ id: account.id, name: account.name, repository: target.name }, target, await repos.directory.getQuota(account.name));
  // What an earlier, interrupted run left in the target: start again from nothing.
  await (await target.store.holdAccount(account.id)).drop();

  const copier = new Copier(source, target, account);
  let passes = 0;
  for (;;) {
    const copied = await copier.pass();
    passes++;
    if (copied <= QUIET_CHANGES || passes >= MAX_LIVE_PASSES) break;
  }

  const frozenAt = Date.now();
  await repos.directory.setFrozenUntil(name, new Date(frozenAt + options.freezeSeconds * 1000));
  await options.announce();
  let hold: AccountHold | null = null;
  try {
    await options.onFrozen?.();
    hold = await source.store.holdAccount(account.id);
    await copier.pass(true);
    if (!(await repos.directory.switchRepository(name, source.name, target.name))) throw new MailError('UNAVAILABLE', `the freeze of ${name} lapsed (over ${options.freezeSeconds} s) before the switch; run the move again`);
  } catch (err) {
    // Back to where it was: the source unlocked, the account thawed, the servers told.
    await hold?.release().catch(() => {});
    await repos.directory.setFrozenUntil(name, null).catch(() => {});
    await options.announce().catch(() => {});
    throw err;
  }
  // If this fails the move is done but some server may not know yet: running the command again tells them.
  await options.announce();
  const freezeMs = Date.now() - frozenAt;
  // Writers that waited on the hold fail now (their mailbox rows are gone) and retry in the target.
  await hold!.drop();
  return { outcome: 'moved', mailboxes: copier.mailboxes, messages: copier.messages, blobs: copier.blobs, passes, freezeMs };
}

/** The account lives in `home`: deletes its data from every other repository that still has its row (a move that stopped after the switch). */
async function dropLeftovers(repos: Repositories, account: Account, home: Repository): Promise<void> {
  for (const repo of await repos.all()) {
    if (repo === home || !repo.store.holdAccount) continue;
    const row = await repo.accounts.getAccount(account.id);
    if (!row || row.name !== account.name) continue;
    if ((await repo.store.listMailboxes(account.id)).length === 0) continue;
    await (await repo.store.holdAccount(account.id)).drop();
  }
}

/** Copies what changed in the source since the last pass (by each mailbox's modseq) into the target. */
class Copier {
  /** Per source mailbox (by UIDVALIDITY): the HIGHESTMODSEQ the target has everything up to. */
  private readonly copiedUpTo = new Map<number, number>();
  /** Per source mailbox: the UIDNEXT of the last pass; messages below it are in the target already (only their flags change). */
  private readonly copiedUidNext = new Map<number, number>();
  mailboxes = 0;
  messages = 0;
  blobs = 0;

  constructor(
    private readonly source: Repository,
    private readonly target: Repository,
    private readonly account: Account,
  ) {}

  /**
   * One pass; returns how many message changes it copied. A mailbox deleted
   * in the source while a live pass copies it is left for the next pass to
   * drop; in the last pass (`final`, under the hold) nothing can vanish.
   */
  async pass(final = false): Promise<number> {
    const id = this.account.id;
    const from = await this.source.store.listMailboxes(id);
    const to = await this.target.store.importMailboxes!(
      id,
      from.map((m) => ({ name: m.name, uidValidity: m.uidValidity, specialUse: m.specialUse, selectable: m.selectable })),
    );
    this.mailboxes = from.length;
    let copied = 0;
    for (let i = 0; i < from.length; i++) {
      try {
        copied += await this.copyMailbox(from[i]!, to[i]!);
        await this.copyAcl(from[i]!, to[i]!);
        await this.copyMetadata(from[i]!.id, to[i]!.id);
      } catch (err) {
        if (final || !isMailError(err, 'NOT_FOUND')) throw err;
      }
    }
    await this.copyMetadata(null, null);
    await this.copySubscriptions();
    return copied;
  }

  private async copyMailbox(from: MailboxInfo, to: MailboxInfo): Promise<number> {
    const since = this.copiedUpTo.get(from.uidValidity) ?? 0;
    const changes = await this.source.store.changesSince(from.id, since);
    if (since > 0 && changes.highestModseq === since) return 0;
    const inTarget = this.copiedUidNext.get(from.uidValidity) ?? 1;
    const batches = chunks(changes.changed.map((c) => c.uid));
    let count = 0;
    // At least one batch: it also carries the expunges and the counters.
    for (const [i, uids] of (batches.length > 0 ? batches : [[]]).entries()) {
      const rows = uids.length === 0 ? [] : await this.source.store.fetchMessages(from.id, uidSet(uids));
      // A message expunged after changesSince read it is imported as expunged.
      const live = rows.filter((r) => r.expungedModseq === null);
      const expunged = rows.filter((r) => r.expungedModseq !== null).map((r) => ({ uid: r.uid, modseq: r.expungedModseq! }));
      if (i === 0) expunged.push(...(await this.expungedWithModseqs(from, changes.expunged, changes.highestModseq)));
      const messages: ImportedMessage[] = [];
      for (const m of live) messages.push(await this.importable(m, m.uid >= inTarget));
      await this.target.store.importMessages!(to.id, { messages, expunged, uidNext: changes.uidNext, highestModseq: changes.highestModseq });
      count += messages.length + expunged.length;
    }
    this.messages += count;
    this.copiedUpTo.set(from.uidValidity, changes.highestModseq);
    this.copiedUidNext.set(from.uidValidity, changes.uidNext);
    return count;
  }

  /**
   * The modseq each expunge had: kept on expunged rows not yet pruned; a
   * pruned one is known only to be at most HIGHESTMODSEQ, which is what it
   * gets (a QRESYNC client may then hear of it again: VANISHED (EARLIER)).
   */
  private async expungedWithModseqs(from: MailboxInfo, uids: number[], highestModseq: number): Promise<Array<{ uid: number; modseq: number }>> {
    if (uids.length === 0) return [];
    const known = new Map<number, number>();
    for (const batch of chunks(uids)) {
      for (const r of await this.source.store.fetchMessages(from.id, uidSet(batch))) if (r.expungedModseq !== null) known.set(r.uid, r.expungedModseq);
    }
    return uids.map((uid) => ({ uid, modseq: known.get(uid) ?? highestModseq }));
  }

  private async importable(m: MessageMeta, withBody: boolean): Promise<ImportedMessage> {
    if (withBody) await this.copyBlob(m.blobId);
    return {
      uid: m.uid,
      modseq: m.modseq,
      flags: m.flags,
      internalDate: m.internalDate,
      saveDate: m.saveDate,
      blobId: m.blobId,
      index: await this.source.store.getIndex(m.blobId),
    };
  }

  /**
   * Streams a body into the target's blob store (content-addressed: the same
   * id, or the copy is wrong). Always written, even when the target seems to
   * have it: a writer's commit is what keeps the target's GC from deleting
   * an unreferenced copy before the import references it.
   */
  private async copyBlob(blobId: BlobId): Promise<void> {
    const writer = this.target.blobs.beginWrite();
    try {
      for await (const chunk of this.source.blobs.read(blobId)) await writer.write(chunk as Buffer);
      const { blobId: written } = await writer.commit();
      if (written !== blobId) throw new MailError('CORRUPT', `blob ${blobId} arrived as ${written}`);
    } catch (err) {
      await writer.abort();
      throw err;
    }
    this.blobs++;
  }

  private async copyAcl(from: MailboxInfo, to: MailboxInfo): Promise<void> {
    const want = await this.source.store.getAcl(from.id);
    const have = await this.target.store.getAcl(to.id);
    const wanted = new Map(want.map((e) => [e.identifier, e.rights]));
    for (const e of have) if (!wanted.has(e.identifier)) await this.target.store.setAcl(to.id, e.identifier, null);
    for (const e of want) {
      if (have.find((h) => h.identifier === e.identifier)?.rights !== e.rights) await this.target.store.setAcl(to.id, e.identifier, e.rights);
    }
  }

  /** A mailbox's /shared and the account's /private annotations (mailbox null: the account's /private server entries). */
  private async copyMetadata(from: MailboxInfo['id'] | null, to: MailboxInfo['id'] | null): Promise<void> {
    const accountId = this.account.id;
    const names = from === null ? ['/private'] : ['/private', '/shared'];
    const want = await this.source.store.getMetadata({ accountId, mailboxId: from }, names, { depth: 'infinity' });
    const have = await this.target.store.getMetadata({ accountId, mailboxId: to }, names, { depth: 'infinity' });
    const wanted = new Set(want.map((e) => e.name));
    const changes = [
      ...have.filter((e) => !wanted.has(e.name)).map((e) => ({ name: e.name, value: null })),
      ...want.filter((e) => !have.some((h) => h.name === e.name && h.value.equals(e.value))),
    ];
    if (changes.length === 0) return;
    // The source already enforced the limits; the copy must not refuse what it holds.
    await this.target.store.setMetadata({ accountId, mailboxId: to }, changes, { maxValueSize: Number.MAX_SAFE_INTEGER, maxEntries: Number.MAX_SAFE_INTEGER });
  }

  private async copySubscriptions(): Promise<void> {
    const id = this.account.id;
    const want = new Set(await this.source.store.listSubscriptions(id));
    const have = new Set(await this.target.store.listSubscriptions(id));
    for (const n of have) if (!want.has(n)) await this.target.store.setSubscribed(id, n, false);
    for (const n of want) if (!have.has(n)) await this.target.store.setSubscribed(id, n, true);
  }
}

function chunks(uids: number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < uids.length; i += BATCH) out.push(uids.slice(i, i + BATCH));
  return out;
}

const uidSet = (uids: number[]): UidSet => uids.map((u) => ({ start: u, end: u }));
