// STORE and UID STORE (RFC 9051 6.4.6, 6.4.9). Without .SILENT every message
// of the set gets a FETCH with its flags (changed or not); our own changes go
// into the view so they are not reported twice.

import { compressUids } from '../../protocol/imap/sequence.js';
import type { FetchItem, Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { MailboxView } from '../view.js';

export const storeHandler: Handler<CommandOf<'STORE'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const uids = command.uid ? view.uidsForUidSet(command.set, session.savedSearch) : view.uidsForSeqSet(command.set, session.savedSearch);
  if (sel.readOnly) return { status: 'NO', text: 'Mailbox is read-only' };
  // \Recent is the server's to set (RFC 3501 2.3.2); it is never stored.
  const flags = command.flags.filter((f) => f !== '\\Recent');
  if (uids.length === 0) return { status: 'OK', text: 'STORE completed' };
  const result = await deps.store.storeFlags(
    sel.mailbox.id,
    MailboxView.toUidSet(uids),
    command.operation,
    flags,
    command.unchangedSince ?? undefined,
  );
  const current = new Map<number, { flags: string[]; modseq: number }>();
  for (const c of result.changed) {
    view.applyOwnFlags(c.uid, c.flags, c.modseq);
    current.set(c.uid, c);
  }
  if (result.changed.length > 0) session.publishChange(sel.mailbox.id, result.highestModseq);

  const modified = new Set(result.modified);
  const condstore = session.enabled.has('CONDSTORE') || command.unchangedSince !== null;
  if (!command.silent) {
    // Messages whose flags did not change still get their (fresh) flags.
    const unchanged = uids.filter((u) => !current.has(u) && !modified.has(u));
    if (unchanged.length > 0) {
      for (const m of await deps.store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(unchanged))) {
        if (m.expungedModseq !== null) continue;
        current.set(m.uid, { flags: m.flags, modseq: m.modseq });
        view.applyOwnFlags(m.uid, m.flags, m.modseq);
      }
    }
  }
  const out: Response[] = [];
  for (const uid of uids) {
    const state = current.get(uid);
    if (!state) continue;
    // .SILENT suppresses the FETCH, except the MODSEQ a CONDSTORE client needs (RFC 7162 3.2).
    if (command.silent && !condstore) continue;
    const items: FetchItem[] = [];
    if (command.uid) items.push({ kind: 'UID', uid });
    if (!command.silent) items.push({ kind: 'FLAGS', flags: state.flags });
    if (condstore) items.push({ kind: 'MODSEQ', modseq: state.modseq });
    out.push({ kind: 'FETCH', seq: view.seqOf(uid), items });
    if (out.length >= 256) await session.send(...out.splice(0));
  }
  if (out.length > 0) await session.send(...out);
  if (modified.size > 0) {
    const set = command.uid ? [...modified] : [...modified].map((u) => view.seqOf(u));
    return { status: 'OK', code: { kind: 'MODIFIED', set: compressUids(set.sort((a, b) => a - b)) }, text: 'Conditional STORE failed for some messages' };
  }
  return { status: 'OK', text: 'STORE completed' };
};
