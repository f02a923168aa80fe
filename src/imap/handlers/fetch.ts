// FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9). Metadata comes from the store
// (flags, dates, sizes, the stored index for ENVELOPE/BODYSTRUCTURE); the blob
// is read only for body sections, and only the range asked for.

import type { MessageMeta } from '../../mail/types.js';
import type { MessageIndex } from '../../mime/types.js';
import type { FetchAttribute, SequenceSet } from '../../protocol/imap/ast.js';
import { compressUids, sequenceSetHas } from '../../protocol/imap/sequence.js';
import type { FetchItem, Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler, SelectedMailbox } from '../context.js';
import type { Session } from '../session.js';
import { emailObjectId, threadObjectId } from '../object-id.js';
import { partialSlice } from '../partial.js';
import { MailboxView } from '../view.js';
import { bodyItem, needsIndex, setsSeen } from './fetch-body.js';
import { fetchFlagItems, onlyFlagItems } from './fetch-flags.js';

const BATCH = 200;

export const fetchHandler: Handler<CommandOf<'FETCH'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const { changedSince, vanished } = command.modifiers;
  // RFC 7162 3.2.6: VANISHED needs ENABLE QRESYNC (the parser already checked UID FETCH and CHANGEDSINCE).
  if (vanished && !session.qresync) return { status: 'BAD', text: 'VANISHED requires ENABLE QRESYNC' };
  let uids = view.uidsForSet(command.uid, command.set, session.savedSearch);
  // RFC 9394 3.3: (PARTIAL range) keeps that window of the set's messages, before CHANGEDSINCE filters.
  if (command.modifiers.partial) uids = partialSlice(uids, command.modifiers.partial);
  const attrs: FetchAttribute[] = [...command.attributes];
  // UID FETCH always reports the UID (RFC 9051 6.4.9); a UIDFETCH response carries it anyway (RFC 9586 3.3).
  if (command.uid && !session.uidOnly && !attrs.some((a) => a.kind === 'UID')) attrs.unshift({ kind: 'UID' });
  // CHANGEDSINCE implies MODSEQ (RFC 7162 3.1.4.1); either is a CONDSTORE enabling command (3.1).
  if (changedSince !== undefined && !attrs.some((a) => a.kind === 'MODSEQ')) {
    attrs.splice(attrs[0]?.kind === 'UID' ? 1 : 0, 0, { kind: 'MODSEQ' });
  }
  if (attrs.some((a) => a.kind === 'MODSEQ')) await session.enableCondstore();
  if (vanished) await sendVanishedEarlier(session, command.set, changedSince!);
  const wantIndex = attrs.some(needsIndex);
  // RFC 4314 4: no implicit \Seen without the "s" right.
  const marksSeen = !sel.readOnly && sel.ref.rights.includes('s') && attrs.some(setsSeen);
  let missing = 0;
  // UID/FLAGS/MODSEQ only (a client syncing a big mailbox): from the view or the compact listing, as runs of responses.
  const flagsOnly = onlyFlagItems(attrs);
  if (flagsOnly) {
    const send = (...r: Response[]) => session.send(...r);
    missing = await fetchFlagItems({ store: deps.store, mailboxId: sel.mailbox.id, view, send, uidFetch: session.uidOnly }, uids, attrs, changedSince);
  }

  for (let i = 0; !flagsOnly && i < uids.length; i += BATCH) {
    let batch = uids.slice(i, i + BATCH);
    const metas = new Map<number, MessageMeta>();
    for (const m of await deps.store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(batch))) metas.set(m.uid, m);
    if (changedSince !== undefined) {
      // Only messages changed since; the others are neither reported nor marked \Seen.
      batch = batch.filter((u) => {
        const m = metas.get(u);
        return !m || m.modseq > changedSince;
      });
    }
    const seenNow = marksSeen ? await markSeen(session, sel, batch, metas) : new Set<number>();
    // The batch's indexes in one read (cluster mode: one round trip, not one a message).
    const indexes = wantIndex ? await deps.store.getIndexes(batch.flatMap((u) => metas.get(u)?.blobId ?? [])) : null;
    for (const uid of batch) {
      const meta = metas.get(uid);
      const seq = view.seqOf(uid);
      if (!meta || seq === 0) {
        missing++;
        continue;
      }
      const read = indexes?.get(meta.blobId);
      let index: Promise<MessageIndex> | null = read ? Promise.resolve(read) : null;
      const loadIndex = (): Promise<MessageIndex> => (index ??= deps.store.getIndex(meta.blobId));
      if (wantIndex) void loadIndex().catch(() => {});
      const items: FetchItem[] = [];
      for (const attr of attrs) items.push(await item(attr, meta, loadIndex, deps.blobs, session));
      // A \Seen set by this FETCH is reported in the same response (RFC 9051 6.4.5),
      // with UID and MODSEQ once CONDSTORE is on (RFC 7162 3.2.4).
      if (seenNow.has(uid)) {
        if (session.condstore && !session.uidOnly && !attrs.some((a) => a.kind === 'UID')) items.unshift({ kind: 'UID', uid });
        if (!attrs.some((a) => a.kind === 'FLAGS')) items.push({ kind: 'FLAGS', flags: meta.flags });
        if (session.condstore && !attrs.some((a) => a.kind === 'MODSEQ')) items.push({ kind: 'MODSEQ', modseq: meta.modseq });
      }
      await session.send({ kind: 'FETCH', seq, items });
    }
  }
  if (missing > 0) {
    return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'Some messages were expunged and could not be fetched' };
  }
  return { status: 'OK', text: `${command.uid ? 'UID ' : ''}FETCH completed` };
};

/**
 * UID FETCH (CHANGEDSINCE n VANISHED), RFC 7162 3.2.6: the UIDs of the set
 * expunged after n, as VANISHED (EARLIER), before any FETCH. Tombstones are
 * never pruned (only the expunged rows' metadata is), so the log is complete
 * back to the mailbox's creation. UIDs this session still holds (their
 * expunge not told yet) are left to the VANISHED that follows.
 */
async function sendVanishedEarlier(session: Session, set: SequenceSet, since: number): Promise<void> {
  const sel = session.selected!;
  const changes = await session.deps.store.changesSince(sel.mailbox.id, since);
  const uidSet = set.kind === 'saved' ? compressUids(session.savedSearch) : set;
  // "*" is the highest UID ever given out here, so n:* covers expunged UIDs above the last live one.
  const star = Math.max(sel.view.lastUid, sel.view.uidNext - 1);
  const gone = changes.expunged.filter((u) => sel.view.seqOf(u) === 0 && sequenceSetHas(uidSet, u, star));
  if (gone.length > 0) await session.send({ kind: 'VANISHED', earlier: true, uids: compressUids(gone) });
}

/** Sets \Seen on the batch's unseen live messages; returns the UIDs changed (their metas updated). */
async function markSeen(session: Session, sel: SelectedMailbox, batch: number[], metas: Map<number, MessageMeta>): Promise<Set<number>> {
  const unseen = batch.filter((u) => {
    const m = metas.get(u);
    return m && m.expungedModseq === null && !m.flags.includes('\\Seen');
  });
  const changed = new Set<number>();
  if (unseen.length === 0) return changed;
  const result = await session.deps.store.storeFlags(sel.mailbox.id, MailboxView.toUidSet(unseen), 'add', ['\\Seen']);
  for (const c of result.changed) {
    const m = metas.get(c.uid);
    if (m) {
      m.flags = c.flags;
      m.modseq = c.modseq;
    }
    sel.view.applyOwnFlags(c.uid, c.flags, c.modseq);
    changed.add(c.uid);
  }
  sel.view.absorbOwnModseqs(result.changed.map((c) => c.modseq));
  if (result.changed.length > 0) session.publishChange(sel.ref, result.highestModseq);
  return changed;
}

async function item(
  attr: FetchAttribute,
  meta: MessageMeta,
  index: () => Promise<MessageIndex>,
  blobs: Session['deps']['blobs'],
  session: Session,
): Promise<FetchItem> {
  switch (attr.kind) {
    case 'UID':
      return { kind: 'UID', uid: meta.uid };
    case 'FLAGS':
      return { kind: 'FLAGS', flags: meta.flags };
    case 'INTERNALDATE':
      return { kind: 'INTERNALDATE', date: meta.internalDate };
    case 'RFC822.SIZE':
      return { kind: 'RFC822.SIZE', size: meta.size };
    case 'MODSEQ':
      return { kind: 'MODSEQ', modseq: meta.modseq };
    case 'SAVEDATE':
      return { kind: 'SAVEDATE', date: meta.saveDate };
    case 'ENVELOPE':
      return { kind: 'ENVELOPE', envelope: (await index()).envelope };
    case 'BODYSTRUCTURE':
      return { kind: 'BODYSTRUCTURE', body: (await index()).root };
    case 'BODY':
      return { kind: 'BODY', body: (await index()).root };
    case 'PREVIEW': {
      const text = (await index()).preview;
      return attr.fuzzy ? { kind: 'PREVIEW', text, fuzzy: attr.fuzzy } : { kind: 'PREVIEW', text };
    }
    case 'EMAILID':
      // Content-addressed: copies of the same message share it, as RFC 8474 wants.
      return { kind: 'EMAILID', id: emailObjectId(meta.blobId) };
    case 'THREADID':
      return { kind: 'THREADID', id: threadObjectId(meta.blobId, await index()) };
    default:
      return bodyItem({ blobs, meta, index }, attr);
  }
}
