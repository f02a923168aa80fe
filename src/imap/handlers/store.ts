// STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with CONDSTORE (RFC 7162
// 3.1.3). Without .SILENT every message of the set gets a FETCH with its
// flags (changed or not); our own changes go into the view so they are not
// reported twice. Once CONDSTORE is on, the FETCHes carry UID and MODSEQ
// (3.2.4), even with .SILENT for the messages the STORE touched; messages
// that fail UNCHANGEDSINCE are left alone, listed in [MODIFIED] (MSNs, or
// UIDs for UID STORE), and get a FETCH with their current flags so the
// client need not poll (the RECOMMENDED behaviour of 3.1.3, Example 6).
// A +FLAGS/-FLAGS that failed UNCHANGEDSINCE only because other flags
// changed is done after all (3.1.12), as is one with UNCHANGEDSINCE 0 on
// keywords the message does not have (3.1.3); a conditional STORE on
// messages expunged meanwhile answers NO, with [MODIFIED] if some also
// failed the test (3.1.3 Example 11).

import type { SequenceSet } from '../../protocol/imap/ast.js';
import type { FetchItem, Response, ResponseCode } from '../../protocol/imap/response.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import type { CommandOf, Handler } from '../context.js';
import { systemFlagBit } from '../../mail/flags.js';
import type { MailStore } from '../../mail/ports.js';
import type { MailboxId, StoreFlagsResult } from '../../mail/types.js';
import { mayChangeAllFlags, permittedFlags, replacedFlags } from '../rights.js';
import { MailboxView } from '../view.js';

interface Reported {
  flags: string[];
  modseq: number;
  /** Include FLAGS even with .SILENT (a message that failed UNCHANGEDSINCE). */
  forceFlags: boolean;
}

export const storeHandler: Handler<CommandOf<'STORE'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const uids = view.uidsForSet(command.uid, command.set, session.savedSearch);
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  const conditional = command.unchangedSince !== null;
  // STORE (UNCHANGEDSINCE) is a CONDSTORE enabling command (RFC 7162 3.1).
  if (conditional) await session.enableCondstore();
  // \Recent is the server's to set (RFC 3501 2.3.2); it is never stored.
  const requested = command.flags.filter((f) => f !== '\\Recent');
  // RFC 4314 4: only the flags the rights allow; NO only when none of them may change.
  const rights = sel.ref.rights;
  const flags = permittedFlags(rights, requested);
  if (command.operation === 'replace' ? !/[stw]/.test(rights) : requested.length > 0 && flags.length === 0) {
    return { status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (no right to change these flags)' };
  }
  if (uids.length === 0) return { status: 'OK', text: 'STORE completed' };
  let result =
    command.operation === 'replace' && !mayChangeAllFlags(rights)
      ? await replaceWithinRights(deps.store, sel.mailbox.id, uids, rights, requested, command.unchangedSince ?? undefined)
      : await deps.store.storeFlags(sel.mailbox.id, MailboxView.toUidSet(uids), command.operation, flags, command.unchangedSince ?? undefined);
  // Done on a retry: their FETCH carries FLAGS, as the client may not know the other flags' change.
  let retried = new Set<number>();
  if (command.operation !== 'replace' && command.unchangedSince !== null && result.modified.length > 0) {
    const retry = { operation: command.operation, flags, unchangedSince: command.unchangedSince };
    ({ result, retried } = await retryWithoutConflict(deps.store, sel.mailbox.id, view, result, retry));
  }
  const reported = new Map<number, Reported>();
  for (const c of result.changed) {
    view.applyOwnFlags(c.uid, c.flags, c.modseq);
    reported.set(c.uid, { flags: c.flags, modseq: c.modseq, forceFlags: retried.has(c.uid) });
  }
  view.absorbOwnModseqs(result.changed.map((c) => c.modseq));
  if (result.changed.length > 0) session.publishChange(sel.ref, result.highestModseq);

  const condstore = session.condstore;
  const modified = new Set(result.modified);
  // Messages whose flags did not change: their current state, when the client is to get a FETCH for them
  // (always without .SILENT; with UNCHANGEDSINCE the MODSEQ is owed even with .SILENT, RFC 7162 3.1.3).
  const lookUp = uids.filter((u) => !reported.has(u) && (modified.has(u) ? condstore : !command.silent || conditional));
  if (lookUp.length > 0) {
    for (const m of await deps.store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(lookUp))) {
      if (m.expungedModseq !== null) continue;
      reported.set(m.uid, { flags: m.flags, modseq: m.modseq, forceFlags: modified.has(m.uid) || retried.has(m.uid) });
      view.applyOwnFlags(m.uid, m.flags, m.modseq);
    }
  }
  const out: Response[] = [];
  for (const uid of uids) {
    const state = reported.get(uid);
    if (!state) continue;
    // .SILENT suppresses the FETCH, except the MODSEQ a CONDSTORE client needs.
    if (command.silent && !condstore) continue;
    const items: FetchItem[] = [];
    // A UIDFETCH response (UIDONLY, RFC 9586 3.3) carries the UID already.
    if ((command.uid || condstore) && !session.uidOnly) items.push({ kind: 'UID', uid });
    if (!command.silent || state.forceFlags) items.push({ kind: 'FLAGS', flags: state.flags });
    if (condstore) items.push({ kind: 'MODSEQ', modseq: state.modseq });
    out.push({ kind: 'FETCH', seq: view.seqOf(uid), items });
    if (out.length >= 256) await session.send(...out.splice(0));
  }
  if (out.length > 0) await session.send(...out);
  const modifiedSet = (): SequenceSet =>
    compressUids(command.uid ? [...modified] : [...modified].map((u) => view.seqOf(u)).filter((s) => s !== 0));
  // A conditional STORE looked every message up: one neither reported nor MODIFIED is expunged.
  if (conditional && uids.some((u) => !reported.has(u) && !modified.has(u))) {
    const code: ResponseCode = modified.size > 0 ? { kind: 'MODIFIED', set: modifiedSet() } : { kind: 'EXPUNGEISSUED' };
    return { status: 'NO', code, text: 'Some of the messages no longer exist' };
  }
  if (modified.size > 0) {
    return { status: 'OK', code: { kind: 'MODIFIED', set: modifiedSet() }, text: 'Conditional STORE failed for some messages' };
  }
  return { status: 'OK', text: 'STORE completed' };
};

const hasFlag = (flags: readonly string[], flag: string): boolean => flags.some((f) => f.toLowerCase() === flag.toLowerCase());

/** Whether a message that failed the UNCHANGEDSINCE test of a +FLAGS/-FLAGS of `flags` is in conflict with it. */
function conflicts(flags: readonly string[], unchangedSince: number, now: readonly string[], told: readonly string[] | null): boolean {
  // 3.1.3: UNCHANGEDSINCE 0 fails if the item exists; a system flag always exists, a keyword when it is set.
  if (unchangedSince === 0) return flags.some((f) => systemFlagBit(f) !== 0 || hasFlag(now, f));
  // 3.1.12: only a requested flag that differs from what the client was told is a conflict.
  return told === null || flags.some((f) => hasFlag(told, f) !== hasFlag(now, f));
}

/**
 * RFC 7162 3.1.12: a +FLAGS/-FLAGS whose UNCHANGEDSINCE test failed need not
 * fail when its change does not conflict with what changed (see conflicts()).
 * Those messages are tried once more, with UNCHANGEDSINCE the highest modseq
 * just read: a change after that read takes a higher modseq and still fails.
 */
async function retryWithoutConflict(
  store: MailStore,
  mailboxId: MailboxId,
  view: MailboxView,
  first: StoreFlagsResult,
  retry: { operation: 'add' | 'remove'; flags: string[]; unchangedSince: number },
): Promise<{ result: StoreFlagsResult; retried: Set<number> }> {
  const { operation, flags } = retry;
  const candidates: number[] = [];
  let since = 0;
  for (const m of await store.fetchMessages(mailboxId, MailboxView.toUidSet(first.modified))) {
    if (m.expungedModseq !== null || conflicts(flags, retry.unchangedSince, m.flags, view.toldFlags(m.uid))) continue;
    candidates.push(m.uid);
    since = Math.max(since, m.modseq);
  }
  if (candidates.length === 0) return { result: first, retried: new Set() };
  const again = await store.storeFlags(mailboxId, MailboxView.toUidSet(candidates), operation, flags, since);
  const stillModified = new Set(again.modified);
  const retried = new Set(candidates.filter((u) => !stillModified.has(u)));
  return {
    result: {
      changed: [...first.changed, ...again.changed].sort((a, b) => a.uid - b.uid),
      modified: first.modified.filter((u) => !retried.has(u)),
      highestModseq: Math.max(first.highestModseq, again.highestModseq),
    },
    retried,
  };
}

/**
 * STORE FLAGS for a user who may change only some flags: each message keeps
 * the flags the user may not change, so messages are grouped by their
 * resulting flag set, one replace per group.
 */
async function replaceWithinRights(
  store: MailStore,
  mailboxId: MailboxId,
  uids: number[],
  rights: string,
  requested: string[],
  unchangedSince: number | undefined,
): Promise<StoreFlagsResult> {
  const groups = new Map<string, { flags: string[]; uids: number[] }>();
  for (const m of await store.fetchMessages(mailboxId, MailboxView.toUidSet(uids))) {
    if (m.expungedModseq !== null) continue;
    const flags = replacedFlags(rights, m.flags, requested).sort();
    const key = flags.join(' ');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { flags, uids: [] }));
    g.uids.push(m.uid);
  }
  const out: StoreFlagsResult = { changed: [], modified: [], highestModseq: 0 };
  for (const g of groups.values()) {
    const r = await store.storeFlags(mailboxId, MailboxView.toUidSet(g.uids), 'replace', g.flags, unchangedSince);
    out.changed.push(...r.changed);
    out.modified.push(...r.modified);
    out.highestModseq = Math.max(out.highestModseq, r.highestModseq);
  }
  out.changed.sort((a, b) => a.uid - b.uid);
  out.modified.sort((a, b) => a - b);
  return out;
}
