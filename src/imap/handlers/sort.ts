// SORT and UID SORT (RFC 5256), DISPLAYFROM/DISPLAYTO (RFC 5957) and ESORT
// (RFC 5267 section 3: RETURN options answered with ESEARCH, in sort order).
// The search runs in the store; the sort keys come from the stored index.

import type { Response } from '../../protocol/imap/response.js';
import type { CommandOf, Handler } from '../context.js';
import { orderedSequenceSet, sortMessages, type SortableMessage } from '../sorting.js';
import { partialSlice } from '../partial.js';
import { addUpdateContext, resultOptions, tagInUse, updateFetch, wantsUpdate } from '../search-context.js';
import { checkCharset, loadSortable, usesModseq } from '../search-query.js';

export const sortHandler: Handler<CommandOf<'SORT'>> = async ({ session, command, tag }) => {
  checkCharset(command.charset);
  // RFC 5267 4.3: UPDATE with the tag of a live update context is BAD, and changes nothing.
  if (wantsUpdate(command.returns) && tagInUse(session, tag)) return { status: 'BAD', text: 'Tag reuse' };
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
  // RETURN () means ALL (RFC 5267 3.3); so do only CONTEXT/UPDATE (RFC 5267 4).
  const opts = resultOptions(command.returns);
  const partial = command.returns.find((r) => r.kind === 'PARTIAL');
  // RFC 5267 4.4: the window of the result list in sort order.
  const windowed = partial ? partialSlice(sorted, partial.range) : [];
  // With only MIN/MAX/PARTIAL, the messages returned are those (RFC 4731 3.2, RFC 9394 3.2).
  const returned =
    opts.has('ALL') || opts.has('COUNT') || !(opts.has('MIN') || opts.has('MAX') || opts.has('PARTIAL'))
      ? sorted
      : [...new Set([...(opts.has('MIN') ? sorted.slice(0, 1) : []), ...(opts.has('MAX') ? sorted.slice(-1) : []), ...windowed])];
  if (opts.has('SAVE')) {
    // SEARCHRES (RFC 5182): "$" is a set of UIDs, so the order does not matter.
    const view = session.selected!.view;
    session.savedSearch = returned.map((m) => view.uidAt(m.seq)).sort((a, b) => a - b);
  }
  // SAVE alone sends no ESEARCH (RFC 5182 2.4).
  if (!(opts.size === 1 && opts.has('SAVE'))) await sendEsearch();
  if (wantsUpdate(command.returns)) {
    const view = session.selected!.view;
    const results = sorted.map((m) => view.uidAt(m.seq));
    const refused = addUpdateContext(session, { tag, uid: command.uid, key: command.key, criteria: command.criteria, results, fetch: updateFetch(command.returns) });
    if (refused) await session.send(refused);
  }
  return { status: 'OK', text: done };

  async function sendEsearch(): Promise<void> {
    const r: Extract<Response, { kind: 'ESEARCH' }> = { kind: 'ESEARCH', tag, uid: command.uid };
    // MIN/MAX are the first and last in sort order (RFC 5267 3.1).
    if (opts.has('MIN') && numbers.length > 0) r.min = numbers[0]!;
    if (opts.has('MAX') && numbers.length > 0) r.max = numbers[numbers.length - 1]!;
    if (opts.has('ALL') && numbers.length > 0) r.all = orderedSequenceSet(numbers);
    if (opts.has('COUNT')) r.count = numbers.length;
    const modseq = highest(returned);
    if (modseq !== undefined) r.modseq = modseq;
    if (partial) r.partial = { range: partial.range, set: windowed.length > 0 ? orderedSequenceSet(windowed.map((m) => m.id)) : null };
    await session.send(r);
  }
};
