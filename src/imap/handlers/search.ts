// SEARCH and UID SEARCH (RFC 9051 6.4.4): keys mapped to the domain
// SearchQuery (../search-query.ts: sequence numbers and "$" become UIDs
// through the view), ESEARCH (RFC 4731) for IMAP4rev2 sessions and RETURN
// options, plain SEARCH for IMAP4rev1, and the search result variable
// (SEARCHRES, RFC 5182).

import type { SearchReturnOption } from '../../protocol/imap/ast.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import type { Session } from '../session.js';
import { partialSlice } from '../partial.js';
import { addUpdateContext, resultOptions, tagInUse, updateFetch, wantsUpdate } from '../search-context.js';
import { checkCharset, searchSelected, selectedQuery, usesModseq } from '../search-query.js';
import { MailboxView } from '../view.js';

export const searchHandler: Handler<CommandOf<'SEARCH'>> = async ({ session, deps, command, tag }) => {
  const sel = session.selected!;
  const saves = command.returns?.some((r) => r.kind === 'SAVE') ?? false;
  try {
    // RFC 6855 3: after ENABLE UTF8=ACCEPT a CHARSET conflicts with the UTF-8 the client committed to.
    if (command.charset !== null && session.enabled.has('UTF8=ACCEPT')) {
      throw new CommandError({ status: 'BAD', text: 'SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT' });
    }
    if (command.charset !== null) checkCharset(command.charset);
    // RFC 5267 4.3: UPDATE with the tag of a live update context is BAD, and changes nothing.
    if (wantsUpdate(command.returns) && tagInUse(session, tag)) throw new CommandError({ status: 'BAD', text: 'Tag reuse' });
    const query = await selectedQuery(session, command.key);
    // SEARCH MODSEQ is a CONDSTORE enabling command (RFC 7162 3.1).
    const byModseq = usesModseq(command.key);
    if (byModseq) await session.enableCondstore();
    const uids = await searchSelected(sel, deps.store, query);
    await respond(session, tag, command, uids, saves, byModseq);
    if (wantsUpdate(command.returns)) {
      const refused = addUpdateContext(session, { tag, uid: command.uid, key: command.key, criteria: null, results: uids, fetch: updateFetch(command.returns) });
      if (refused) await session.send(refused);
    }
    return { status: 'OK', text: `${command.uid ? 'UID ' : ''}SEARCH completed` };
  } catch (e) {
    // RFC 9051 6.4.4.1: a failed SEARCH with SAVE empties "$" (a BAD leaves it alone).
    if (saves && !(e instanceof CommandError && e.result.status === 'BAD')) session.savedSearch = [];
    throw e;
  }
};

/** RFC 7162 3.1.5: the highest modseq of the messages returned (the store's current values). */
async function highestModseq(session: Session, uids: number[]): Promise<number> {
  const sel = session.selected!;
  let max = 0;
  for (let i = 0; i < uids.length; i += 1000) {
    const part = MailboxView.toUidSet(uids.slice(i, i + 1000));
    for (const m of await session.deps.store.fetchMessages(sel.mailbox.id, part)) max = Math.max(max, m.modseq);
  }
  return max;
}

async function respond(
  session: Session,
  tag: string,
  command: CommandOf<'SEARCH'>,
  uids: number[],
  saves: boolean,
  byModseq: boolean,
): Promise<void> {
  const view = session.selected!.view;
  const numbers = command.uid ? uids : uids.map((u) => view.seqOf(u));
  const returns: SearchReturnOption[] | null = command.returns;
  if (returns === null && !session.rev2) {
    // "(MODSEQ n)" only after a non-empty result (RFC 7162 3.1.6).
    if (byModseq && uids.length > 0) await session.send({ kind: 'SEARCH', numbers, modseq: await highestModseq(session, uids) });
    else await session.send({ kind: 'SEARCH', numbers });
    return;
  }
  // RETURN () and rev2's plain SEARCH mean ALL (RFC 9051 6.4.4); so do only CONTEXT/UPDATE (RFC 5267 4).
  const opts = resultOptions(returns ?? []);
  const partial = returns?.find((r) => r.kind === 'PARTIAL');
  // RFC 9394 3.1: the window of the result list in mailbox order.
  const windowed = partial ? partialSlice(uids, partial.range) : [];
  if (opts.size === 1 && opts.has('SAVE') && returns !== null && returns.length > 0) {
    session.savedSearch = uids;
    return;
  }
  const min = numbers.length > 0 ? numbers[0] : undefined;
  const max = numbers.length > 0 ? numbers[numbers.length - 1] : undefined;
  if (saves) {
    if (opts.has('ALL') || opts.has('COUNT')) session.savedSearch = uids;
    else {
      // RFC 9394 3.2 (table 1): the PARTIAL window and MIN/MAX.
      const picked = new Set<number>(windowed);
      if (opts.has('MIN') && uids.length > 0) picked.add(uids[0]!);
      if (opts.has('MAX') && uids.length > 0) picked.add(uids[uids.length - 1]!);
      session.savedSearch = [...picked].sort((a, b) => a - b);
    }
  }
  const r: Extract<Response, { kind: 'ESEARCH' }> = { kind: 'ESEARCH', tag, uid: command.uid };
  if (opts.has('MIN') && min !== undefined) r.min = min;
  if (opts.has('MAX') && max !== undefined) r.max = max;
  if (opts.has('ALL') && numbers.length > 0) r.all = compressUids(numbers);
  if (opts.has('COUNT')) r.count = numbers.length;
  if (partial) {
    const set = command.uid ? windowed : windowed.map((u) => view.seqOf(u));
    r.partial = { range: partial.range, set: set.length > 0 ? compressUids(set) : null };
  }
  if (byModseq && uids.length > 0) {
    // RFC 7162 3.1.10 / RFC 4731 3.2: the highest modseq of the messages returned; with
    // only MIN/MAX that is those one or two messages.
    const returned =
      opts.has('ALL') || opts.has('COUNT')
        ? uids
        : [...new Set([...(opts.has('MIN') ? [uids[0]!] : []), ...(opts.has('MAX') ? [uids[uids.length - 1]!] : []), ...windowed])];
    r.modseq = await highestModseq(session, returned);
  }
  await session.send(r);
}
