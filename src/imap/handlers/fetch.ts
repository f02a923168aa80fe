// FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9). Metadata comes from the store
// (flags, dates, sizes, the stored index for ENVELOPE/BODYSTRUCTURE); the blob
// is read only for body sections, and only the range asked for.

import type { MessageMeta } from '../../mail/types.js';
import type { MessageIndex } from '../../mime/types.js';
import type { FetchAttribute } from '../../protocol/imap/ast.js';
import type { FetchItem } from '../../protocol/imap/response.js';
import type { CommandOf, Handler, SelectedMailbox } from '../context.js';
import type { Session } from '../session.js';
import { MailboxView } from '../view.js';
import { bodyItem, needsIndex, setsSeen } from './fetch-body.js';

const BATCH = 200;

export const fetchHandler: Handler<CommandOf<'FETCH'>> = async ({ session, deps, command }) => {
  const sel = session.selected!;
  const { view } = sel;
  const uids = command.uid ? view.uidsForUidSet(command.set, session.savedSearch) : view.uidsForSeqSet(command.set, session.savedSearch);
  const attrs: FetchAttribute[] = [...command.attributes];
  // UID FETCH always reports the UID (RFC 9051 6.4.9).
  if (command.uid && !attrs.some((a) => a.kind === 'UID')) attrs.unshift({ kind: 'UID' });
  const wantIndex = attrs.some(needsIndex);
  const marksSeen = !sel.readOnly && attrs.some(setsSeen);
  let missing = 0;

  for (let i = 0; i < uids.length; i += BATCH) {
    const batch = uids.slice(i, i + BATCH);
    const metas = new Map<number, MessageMeta>();
    for (const m of await deps.store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(batch))) metas.set(m.uid, m);
    const seenNow = marksSeen ? await markSeen(session, sel, batch, metas) : new Set<number>();
    for (const uid of batch) {
      const meta = metas.get(uid);
      const seq = view.seqOf(uid);
      if (!meta || seq === 0) {
        missing++;
        continue;
      }
      let index: Promise<MessageIndex> | null = null;
      const loadIndex = (): Promise<MessageIndex> => (index ??= deps.store.getIndex(meta.blobId));
      if (wantIndex) void loadIndex().catch(() => {});
      const items: FetchItem[] = [];
      for (const attr of attrs) items.push(await item(attr, meta, loadIndex, deps.blobs, session));
      // A \Seen set by this FETCH is reported in the same response (RFC 9051 6.4.5).
      if (seenNow.has(uid) && !attrs.some((a) => a.kind === 'FLAGS')) items.push({ kind: 'FLAGS', flags: meta.flags });
      await session.send({ kind: 'FETCH', seq, items });
    }
  }
  if (missing > 0) {
    return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'Some messages were expunged and could not be fetched' };
  }
  return { status: 'OK', text: `${command.uid ? 'UID ' : ''}FETCH completed` };
};

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
  if (result.changed.length > 0) session.publishChange(sel.mailbox.id, result.highestModseq);
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
    case 'PREVIEW':
      return { kind: 'PREVIEW', text: (await index()).preview };
    case 'EMAILID':
      // Content-addressed: copies of the same message share it, as RFC 8474 wants.
      return { kind: 'EMAILID', id: 'M' + meta.blobId.slice(0, 24) };
    case 'THREADID':
      return { kind: 'THREADID', id: null };
    default:
      return bodyItem({ blobs, meta, index }, attr);
  }
}
