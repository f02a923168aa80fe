// SEARCH and UID SEARCH (RFC 9051 6.4.4): keys mapped to the domain
// SearchQuery (sequence numbers and "$" become UIDs through the view),
// ESEARCH (RFC 4731) for IMAP4rev2 sessions and RETURN options, plain SEARCH
// for IMAP4rev1, and the search result variable (SEARCHRES, RFC 5182).

import type { SearchQuery } from '../../mail/types.js';
import type { SearchKey, SearchReturnOption, SequenceSet } from '../../protocol/imap/ast.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import type { Response } from '../../protocol/imap/response.js';
import { CommandError, type CommandOf, type Handler } from '../context.js';
import type { Session } from '../session.js';
import { resolveObjectIdKeys } from '../object-id.js';
import { partialSlice } from '../partial.js';
import { addUpdateContext, resultOptions, tagInUse, updateFetch, wantsUpdate } from '../search-context.js';
import { MailboxView } from '../view.js';

const CHARSETS = ['UTF-8', 'US-ASCII'];
const NOTHING: SearchQuery = { kind: 'not', query: { kind: 'all' } };

export const searchHandler: Handler<CommandOf<'SEARCH'>> = async ({ session, deps, command, tag }) => {
  const sel = session.selected!;
  const saves = command.returns?.some((r) => r.kind === 'SAVE') ?? false;
  try {
    // RFC 6855 3: after ENABLE UTF8=ACCEPT a CHARSET conflicts with the UTF-8 the client committed to.
    if (command.charset !== null && session.enabled.has('UTF8=ACCEPT')) {
      throw new CommandError({ status: 'BAD', text: 'SEARCH CHARSET is not allowed after ENABLE UTF8=ACCEPT' });
    }
    if (command.charset !== null && !CHARSETS.includes(command.charset.toUpperCase())) {
      throw new CommandError({ status: 'NO', code: { kind: 'BADCHARSET', charsets: CHARSETS }, text: 'Unsupported charset' });
    }
    // RFC 5267 4.3: UPDATE with the tag of a live update context is BAD, and changes nothing.
    if (wantsUpdate(command.returns) && tagInUse(session, tag)) throw new CommandError({ status: 'BAD', text: 'Tag reuse' });
    const query = toQuery(await resolveObjectIdKeys(session, command.key), session);
    // SEARCH MODSEQ is a CONDSTORE enabling command (RFC 7162 3.1).
    const byModseq = usesModseq(command.key);
    if (byModseq) await session.enableCondstore();
    const found = await deps.store.search(sel.mailbox.id, query);
    // Only messages this session knows of have sequence numbers (new ones come with the next EXISTS).
    const uids = found.filter((u) => sel.view.seqOf(u) !== 0);
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

/** True when the key uses a criterion of this kind anywhere. */
export function searchKeyUses(key: SearchKey, kind: SearchKey['kind']): boolean {
  if (key.kind === kind) return true;
  switch (key.kind) {
    case 'NOT':
      return searchKeyUses(key.key, kind);
    case 'OR':
      return searchKeyUses(key.left, kind) || searchKeyUses(key.right, kind);
    case 'AND':
      return key.keys.some((k) => searchKeyUses(k, kind));
    default:
      return false;
  }
}

function usesModseq(key: SearchKey): boolean {
  return searchKeyUses(key, 'MODSEQ');
}

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

function decode(value: Buffer): string {
  return value.toString('utf8');
}

function uidSetQuery(uids: number[]): SearchQuery {
  return uids.length === 0 ? NOTHING : { kind: 'uid', set: MailboxView.toUidSet(uids) };
}

/** MSNs in a search key: numbers beyond the mailbox simply match nothing. */
function seqQuery(set: SequenceSet, session: Session): SearchQuery {
  const view = session.selected!.view;
  if (set.kind === 'saved') return uidSetQuery(session.savedSearch.filter((u) => view.seqOf(u) !== 0));
  const count = view.exists;
  const uids = new Set<number>();
  for (const r of set.ranges) {
    const a = r.start === '*' ? count : r.start;
    const b = r.end === '*' ? count : r.end;
    for (let s = Math.max(1, Math.min(a, b)); s <= Math.min(count, Math.max(a, b)); s++) uids.add(view.uidAt(s));
  }
  return uidSetQuery([...uids].sort((x, y) => x - y));
}

function uidQuery(set: SequenceSet, session: Session): SearchQuery {
  const view = session.selected!.view;
  if (set.kind === 'saved') return uidSetQuery(session.savedSearch);
  const last = view.lastUid;
  return {
    kind: 'uid',
    set: set.ranges.map((r) => {
      const a = r.start === '*' ? last : r.start;
      const b = r.end === '*' ? last : r.end;
      return { start: Math.min(a, b), end: Math.max(a, b) };
    }),
  };
}

export function toQuery(key: SearchKey, session: Session): SearchQuery {
  switch (key.kind) {
    case 'ALL':
    case 'SAVEDATESUPPORTED':
      return { kind: 'all' };
    case 'flag':
      // \Recent is never set in Petrel.
      if (key.flag === '\\Recent') return key.present ? NOTHING : { kind: 'all' };
      return { kind: 'flag', flag: key.flag, present: key.present };
    case 'NEW':
      return NOTHING;
    case 'OLD':
      return { kind: 'all' };
    case 'header':
      return { kind: 'header', field: key.field.toLowerCase(), value: decode(key.value) };
    case 'BODY':
      return { kind: 'body', value: decode(key.value) };
    case 'TEXT':
      return { kind: 'text', value: decode(key.value) };
    case 'date':
      return { kind: 'date', field: key.field, op: key.op, day: key.day };
    case 'size':
      return { kind: 'size', op: key.op, octets: key.octets };
    case 'seq':
      return seqQuery(key.set, session);
    case 'UID':
      return uidQuery(key.set, session);
    case 'MODSEQ':
      return { kind: 'modseq', op: 'ge', modseq: key.modseq };
    case 'age':
      return { kind: 'age', op: key.op, seconds: key.seconds };
    case 'EMAILID':
    case 'THREADID':
      // resolveObjectIdKeys (object-id.ts) turns these into UID sets first.
      throw new Error(`${key.kind} search key was not resolved`);
    case 'NOT':
      return { kind: 'not', query: toQuery(key.key, session) };
    case 'OR':
      return { kind: 'or', left: toQuery(key.left, session), right: toQuery(key.right, session) };
    case 'AND':
      return { kind: 'and', queries: key.keys.map((k) => toQuery(k, session)) };
  }
}
