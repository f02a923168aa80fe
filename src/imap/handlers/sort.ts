// SORT and UID SORT (RFC 5256), DISPLAYFROM/DISPLAYTO (RFC 5957) and ESORT
// (RFC 5267 section 3: RETURN options answered with ESEARCH, in sort order).
// The search runs in the store; the sort keys come from the stored index.

import type { SearchKey } from '../../protocol/imap/ast.js';
import type { Response } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import type { Session } from '../session.js';
import { orderedSequenceSet, sortMessages, toSortable, type SortableMessage } from '../sorting.js';
import { MailboxView } from '../view.js';
import { toQuery } from './search.js';
import type { MessageIndex } from '../../mime/types.js';

const CHARSETS = ['UTF-8', 'US-ASCII'];
const CHUNK = 1000;

/** SORT and THREAD name their charset always; only UTF-8 and US-ASCII (a subset) are known. */
export function checkCharset(charset: string): void {
  if (!CHARSETS.includes(charset.toUpperCase())) {
    throw new CommandError({ status: 'NO', code: { kind: 'BADCHARSET', charsets: CHARSETS }, text: 'Unsupported charset' });
  }
}

/**
 * The messages matching `key` that this session knows of (they have an MSN),
 * in sequence order, with their sort keys. `withIndex` false skips reading
 * the stored index (ARRIVAL and SIZE need only the metadata).
 */
export async function loadSortable(session: Session, key: SearchKey, uid: boolean, withIndex: boolean): Promise<Loaded> {
  const sel = session.selected!;
  const store = session.deps.store;
  const found = await store.search(sel.mailbox.id, toQuery(key, session));
  const uids = found.filter((u) => sel.view.seqOf(u) !== 0);
  const out: SortableMessage[] = [];
  const modseqs = new Map<number, number>();
  const indexes = new Map<string, Promise<MessageIndex>>();
  for (let i = 0; i < uids.length; i += CHUNK) {
    const metas = await store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(uids.slice(i, i + CHUNK)));
    const live = metas.filter((m) => m.expungedModseq === null);
    const loaded = await Promise.all(
      live.map((m) => {
        if (!withIndex) return null;
        let p = indexes.get(m.blobId);
        if (!p) {
          p = store.getIndex(m.blobId);
          indexes.set(m.blobId, p);
        }
        return p;
      }),
    );
    live.forEach((m, j) => {
      const seq = sel.view.seqOf(m.uid);
      modseqs.set(seq, m.modseq);
      out.push(toSortable({ id: uid ? m.uid : seq, seq }, m, loaded[j] ?? null));
    });
    indexes.clear();
  }
  return { messages: out.sort((a, b) => a.seq - b.seq), modseqs };
}

export interface Loaded {
  /** In sequence order. */
  messages: SortableMessage[];
  /** MODSEQ of each message, by sequence number. */
  modseqs: Map<number, number>;
}

/** True when the key uses the MODSEQ criterion anywhere (RFC 7162 3.1.9). */
export function usesModseq(key: SearchKey): boolean {
  switch (key.kind) {
    case 'MODSEQ':
      return true;
    case 'NOT':
      return usesModseq(key.key);
    case 'OR':
      return usesModseq(key.left) || usesModseq(key.right);
    case 'AND':
      return key.keys.some(usesModseq);
    default:
      return false;
  }
}

export const sortHandler: Handler<CommandOf<'SORT'>> = async ({ session, command, tag }) => {
  checkCharset(command.charset);
  // A MODSEQ search key enables CONDSTORE (RFC 7162 3.1).
  const byModseq = usesModseq(command.key);
  if (byModseq) await session.enableCondstore();
  const withIndex = command.criteria.some((c) => c.key !== 'ARRIVAL' && c.key !== 'SIZE');
  const { messages, modseqs } = await loadSortable(session, command.key, command.uid, withIndex);
  const sorted = sortMessages(messages, command.criteria);
  const numbers = sorted.map((m) => m.id);
  const highest = (ms: SortableMessage[]): number | undefined =>
    byModseq && ms.length > 0 ? ms.reduce((max, m) => Math.max(max, modseqs.get(m.seq)!), 0) : undefined;
  const done = `${command.uid ? 'UID ' : ''}SORT completed`;
  if (command.returns === null) {
    const modseq = highest(sorted);
    await session.send(modseq === undefined ? { kind: 'SORT', numbers } : { kind: 'SORT', numbers, modseq });
    return { status: 'OK', text: done };
  }
  const opts = new Set(command.returns.map((r) => r.kind));
  // RETURN () means ALL (RFC 5267 3.3).
  if (opts.size === 0) opts.add('ALL');
  // With only MIN/MAX, the messages returned are those one or two (RFC 4731 3.2).
  const returned =
    opts.has('ALL') || opts.has('COUNT') || !(opts.has('MIN') || opts.has('MAX'))
      ? sorted
      : [...new Set([...(opts.has('MIN') ? sorted.slice(0, 1) : []), ...(opts.has('MAX') ? sorted.slice(-1) : [])])];
  if (opts.has('SAVE')) {
    // SEARCHRES (RFC 5182): "$" is a set of UIDs, so the order does not matter.
    const view = session.selected!.view;
    session.savedSearch = returned.map((m) => view.uidAt(m.seq)).sort((a, b) => a - b);
    if (opts.size === 1) return { status: 'OK', text: done };
  }
  const r: Extract<Response, { kind: 'ESEARCH' }> = { kind: 'ESEARCH', tag, uid: command.uid };
  // MIN/MAX are the first and last in sort order (RFC 5267 3.1).
  if (opts.has('MIN') && numbers.length > 0) r.min = numbers[0]!;
  if (opts.has('MAX') && numbers.length > 0) r.max = numbers[numbers.length - 1]!;
  if (opts.has('ALL') && numbers.length > 0) r.all = orderedSequenceSet(numbers);
  if (opts.has('COUNT')) r.count = numbers.length;
  const modseq = highest(returned);
  if (modseq !== undefined) r.modseq = modseq;
  await session.send(r);
  return { status: 'OK', text: done };
};
