// STORE and UID STORE (RFC 9051 6.4.6, 6.4.9), with CONDSTORE (RFC 7162
// 3.1.3). Without .SILENT every message of the set gets a FETCH with its
// flags (changed or not); our own changes go into the view so they are not
// reported twice. Once CONDSTORE is on, the FETCHes carry UID and MODSEQ
// (3.2.4), even with .SILENT for the messages the STORE touched; messages
// that fail UNCHANGEDSINCE are left alone, listed in [MODIFIED] (MSNs, or
// UIDs for UID STORE), and get a FETCH with their current flags so the
// client need not poll (the RECOMMENDED behaviour of 3.1.3, Example 6).

import type { FetchItem, Response } from '../../protocol/imap/response.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import type { CommandOf, Handler } from '../context.js';
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
  const uids = command.uid ? view.uidsForUidSet(command.set, session.savedSearch) : view.uidsForSeqSet(command.set, session.savedSearch);
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
  const result =
    command.operation === 'replace' && !mayChangeAllFlags(rights)
      ? await replaceWithinRights(deps.store, sel.mailbox.id, uids, rights, requested, command.unchangedSince ?? undefined)
      : await deps.store.storeFlags(sel.mailbox.id, MailboxView.toUidSet(uids), command.operation, flags, command.unchangedSince ?? undefined);
  const reported = new Map<number, Reported>();
  for (const c of result.changed) {
    view.applyOwnFlags(c.uid, c.flags, c.modseq);
    reported.set(c.uid, { flags: c.flags, modseq: c.modseq, forceFlags: false });
  }
  if (result.changed.length > 0) session.publishChange(sel.ref, result.highestModseq);

  const condstore = session.condstore;
  const modified = new Set(result.modified);
  // Messages whose flags did not change: their current state, when the client is to get a FETCH for them
  // (always without .SILENT; with UNCHANGEDSINCE the MODSEQ is owed even with .SILENT, RFC 7162 3.1.3).
  const lookUp = uids.filter((u) => !reported.has(u) && (modified.has(u) ? condstore : !command.silent || conditional));
  if (lookUp.length > 0) {
    for (const m of await deps.store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(lookUp))) {
      if (m.expungedModseq !== null) continue;
      reported.set(m.uid, { flags: m.flags, modseq: m.modseq, forceFlags: modified.has(m.uid) });
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
  if (modified.size > 0) {
    const set = command.uid ? [...modified] : [...modified].map((u) => view.seqOf(u)).filter((s) => s !== 0);
    return { status: 'OK', code: { kind: 'MODIFIED', set: compressUids(set) }, text: 'Conditional STORE failed for some messages' };
  }
  return { status: 'OK', text: 'STORE completed' };
};

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
