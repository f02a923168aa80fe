// CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267 4.3): searching commands with
// RETURN (UPDATE) leave an update context behind; while the mailbox stays
// selected, changes to its result are told as ESEARCH ADDTO / REMOVEFROM.
//
// The store's change log is the truth here too: when the mailbox moved past
// the modseq a context was last evaluated at, the context's search runs again
// and the difference to its last result is sent. REMOVEFROM goes out before
// the update batch (so message numbers are still those the client knows, and
// before the EXPUNGE that explains it, 4.3.4), ADDTO after it (after the EXISTS
// that gives new messages their numbers, 4.3.3). A sort context keeps its sort
// order (sort keys never change: they come from the immutable message), so its
// difference is a list of removals and insertions with context positions; a
// search context uses position 0 and mailbox order.
//
// Contexts belong to the view, so they end with it (a new SELECT, CLOSE,
// UNSELECT), and to nothing else: results are kept as UIDs and turned into
// message numbers when sent.

import type { FetchAttribute, SearchKey, SearchReturnOption, SequenceSet, SortCriterion } from '../protocol/imap/ast.js';
import type { Response } from '../protocol/imap/response.js';
import { compressUids } from '../protocol/imap/sequence.js';
import type { Session } from './session.js';
import { orderedSequenceSet, sortMessages } from './sorting.js';
import type { MailboxView } from './view.js';
import { loadSortable, searchSelected, selectedQuery, uidsAtMessageNumbers } from './search-query.js';

/**
 * Updating contexts per selected mailbox (RFC 5267 4.3.1: at least one; sort
 * contexts cost more, as each change re-reads the sort keys of the result).
 */
export const SEARCH_CONTEXT_LIMIT = 5;
export const SORT_CONTEXT_LIMIT = 2;

interface UpdateContext {
  tag: string;
  uid: boolean;
  /** The search program, message numbers and "$" already turned into UIDs (4.3: evaluated once). */
  key: SearchKey;
  /** null for SEARCH (mailbox order). */
  criteria: SortCriterion[] | null;
  /** The last result told, as UIDs, in the requested order. */
  results: number[];
  /** RFC 5465 7: fetch-atts of UPDATE, sent for new messages that join the result. */
  fetch?: FetchAttribute[];
}

class ContextSet {
  readonly contexts = new Map<string, UpdateContext>();
  /** Results are current up to this modseq (0: evaluate at the next release). */
  evaluatedAt = 0;
  /** Highest UID of the view at the last evaluation: above it, messages are new (RFC 5465 7). */
  lastUid = 0;
}

const contextsByView = new WeakMap<MailboxView, ContextSet>();

function contextsOf(session: Session): ContextSet | null {
  const sel = session.selected;
  return sel ? (contextsByView.get(sel.view) ?? null) : null;
}

/** RETURN (... UPDATE ...). */
export function wantsUpdate(returns: readonly SearchReturnOption[] | null): boolean {
  return returns?.some((r) => r.kind === 'UPDATE') ?? false;
}

/** The return options that choose result data: without any (only CONTEXT/UPDATE/none), ALL is meant. */
export function resultOptions(returns: readonly SearchReturnOption[]): Set<SearchReturnOption['kind']> {
  const opts = new Set(returns.map((r) => r.kind));
  opts.delete('CONTEXT');
  opts.delete('UPDATE');
  if (opts.size === 0) opts.add('ALL');
  return opts;
}

/** A searching command with UPDATE reuses the tag of a live context: BAD (4.3). */
export function tagInUse(session: Session, tag: string): boolean {
  return contextsOf(session)?.contexts.has(tag) ?? false;
}

/**
 * Keeps an updating context for the searching command `tag` whose result
 * (UIDs in requested order) was just sent. Returns the untagged NO
 * [NOUPDATE] to send when the limit is reached (4.3.1), else null.
 */
export function addUpdateContext(
  session: Session,
  context: { tag: string; uid: boolean; key: SearchKey; criteria: SortCriterion[] | null; results: number[]; fetch?: FetchAttribute[] },
): Response | null {
  const sel = session.selected!;
  let set = contextsByView.get(sel.view);
  const sorted = context.criteria !== null;
  const inUse = set ? [...set.contexts.values()].filter((c) => (c.criteria !== null) === sorted).length : 0;
  if (inUse >= (sorted ? SORT_CONTEXT_LIMIT : SEARCH_CONTEXT_LIMIT)) {
    return { kind: 'status', status: 'NO', code: { kind: 'NOUPDATE', tag: context.tag }, text: 'Too many update contexts' };
  }
  if (!set) {
    set = new ContextSet();
    contextsByView.set(sel.view, set);
  }
  set.contexts.set(context.tag, { ...context, key: freezeMessageNumbers(context.key, session) });
  set.lastUid = Math.max(set.lastUid, sel.view.lastUid);
  // Evaluate again when this command's updates are released: catches changes made while it ran.
  set.evaluatedAt = 0;
  return null;
}

/** CANCELUPDATE (4.3.5): stops the contexts; returns a tag that names none (then nothing is cancelled). */
export function cancelUpdates(session: Session, tags: readonly string[]): string | null {
  const set = contextsOf(session);
  const unknown = tags.find((t) => !set?.contexts.has(t));
  if (unknown !== undefined) return unknown;
  for (const t of tags) set!.contexts.delete(t);
  return null;
}

const NOTHING: SearchKey = { kind: 'NOT', key: { kind: 'ALL' } };

function uidKey(uids: readonly number[]): SearchKey {
  if (uids.length === 0) return NOTHING;
  return { kind: 'UID', set: compressUids(uids) };
}

/** Message numbers and "$" in a search program become the UIDs they mean now. */
function freezeMessageNumbers(key: SearchKey, session: Session): SearchKey {
  const view = session.selected!.view;
  switch (key.kind) {
    case 'seq': {
      if (key.set.kind === 'saved') return uidKey(session.savedSearch.filter((u) => view.seqOf(u) !== 0));
      return uidKey([...uidsAtMessageNumbers(key.set.ranges, view)]);
    }
    case 'UID':
      return key.set.kind === 'saved' ? uidKey(session.savedSearch) : key;
    case 'NOT':
      return { kind: 'NOT', key: freezeMessageNumbers(key.key, session) };
    case 'OR':
      return { kind: 'OR', left: freezeMessageNumbers(key.left, session), right: freezeMessageNumbers(key.right, session) };
    case 'AND':
      return { kind: 'AND', keys: key.keys.map((k) => freezeMessageNumbers(k, session)) };
    default:
      return key;
  }
}

/** The context's result now: UIDs the view holds, in the requested order. */
async function evaluate(session: Session, c: UpdateContext): Promise<number[]> {
  const sel = session.selected!;
  if (c.criteria === null) return searchSelected(sel, session.deps.store, await selectedQuery(session, c.key));
  const withIndex = c.criteria.some((s) => s.key !== 'ARRIVAL' && s.key !== 'SIZE');
  const { messages } = await loadSortable(session, c.key, true, withIndex);
  return sortMessages(messages, c.criteria).map((m) => m.id);
}

interface Change {
  /** 1-based context position (sort contexts); 0 for search contexts. */
  position: number;
  uids: number[];
}

/** Removals, then insertions, that turn `old` into `next` (the survivors keep their order). */
function difference(old: readonly number[], next: readonly number[], sorted: boolean): { removed: Change[]; added: Change[] } {
  const nextSet = new Set(next);
  const oldSet = new Set(old);
  if (!sorted) {
    const gone = old.filter((u) => !nextSet.has(u));
    const fresh = next.filter((u) => !oldSet.has(u));
    return { removed: gone.length > 0 ? [{ position: 0, uids: gone }] : [], added: fresh.length > 0 ? [{ position: 0, uids: fresh }] : [] };
  }
  const removed: Change[] = [];
  let kept = 0;
  let run: Change | null = null;
  for (const u of old) {
    if (nextSet.has(u)) {
      kept++;
      run = null;
    } else if (run) run.uids.push(u);
    else removed.push((run = { position: kept + 1, uids: [u] }));
  }
  const added: Change[] = [];
  run = null;
  next.forEach((u, i) => {
    if (oldSet.has(u)) run = null;
    else if (run) run.uids.push(u);
    else added.push((run = { position: i + 1, uids: [u] }));
  });
  return { removed, added };
}

function render(c: UpdateContext, changes: Change[], number: (uid: number) => number): Array<{ position: number; set: SequenceSet }> {
  // A message without a number (never the case when updates flow as designed) cannot be named: left out.
  const pairs = changes.map((ch) => ({ position: ch.position, numbers: ch.uids.map(number).filter((n) => n > 0) })).filter((p) => p.numbers.length > 0);
  return pairs.map(({ position, numbers }) => {
    // Search contexts: mailbox order, shortest form (4.3.3); sort contexts: sort order, ascending ranges only (3.2).
    return { position, set: c.criteria === null ? compressUids(numbers) : orderedSequenceSet(numbers) };
  });
}

function esearch(c: UpdateContext, field: 'addTo' | 'removeFrom', pairs: Array<{ position: number; set: SequenceSet }>): Response {
  return { kind: 'ESEARCH', tag: c.tag, uid: c.uid, [field]: pairs };
}

export interface ContextUpdates {
  /** REMOVEFROM responses: send before the view's updates. */
  before: Response[];
  /** ADDTO responses: call after the view's updates were taken (message numbers then include new messages). */
  after(): Response[];
  /** RFC 5465 7: FETCH these (by UID) after the ADDTO responses (5.2: FETCH follows ADDTO). */
  fetches: Array<{ uids: number[]; attributes: FetchAttribute[] }>;
}

/** RETURN (UPDATE (fetch-att ...)): the attributes, or undefined. */
export function updateFetch(returns: readonly SearchReturnOption[] | null): FetchAttribute[] | undefined {
  const update = returns?.find((r) => r.kind === 'UPDATE');
  return update?.kind === 'UPDATE' && update.fetch && update.fetch.length > 0 ? update.fetch : undefined;
}

/**
 * Called when the session releases updates, after the view was refreshed and
 * before its updates are taken. Null when no context needs telling.
 */
export async function prepareContextUpdates(session: Session): Promise<ContextUpdates | null> {
  const set = contextsOf(session);
  const sel = session.selected;
  if (!set || !sel || set.contexts.size === 0) return null;
  const mailbox = await session.deps.store.getMailboxById(sel.mailbox.id);
  const storeModseq = mailbox?.highestModseq ?? 0;
  if (set.evaluatedAt > 0 && storeModseq <= set.evaluatedAt && sel.view.highestModseq <= set.evaluatedAt) return null;
  // What the view covers: a change the view has not pulled yet is looked at again next time.
  set.evaluatedAt = Math.min(storeModseq, sel.view.highestModseq);
  const view = sel.view;
  const known = set.lastUid;
  set.lastUid = Math.max(set.lastUid, view.lastUid);
  const before: Response[] = [];
  const fetches: ContextUpdates['fetches'] = [];
  const pending: Array<{ c: UpdateContext; added: Change[] }> = [];
  for (const c of set.contexts.values()) {
    const next = await evaluate(session, c);
    const { removed, added } = difference(c.results, next, c.criteria !== null);
    c.results = next;
    const removals = render(c, removed, (u) => (c.uid ? u : view.seqOf(u)));
    if (removals.length > 0) before.push(esearch(c, 'removeFrom', removals));
    if (added.length > 0) pending.push({ c, added });
    // Only messages new to the mailbox, not ones a flag change brought in (RFC 5465 7).
    const fresh = c.fetch ? added.flatMap((a) => a.uids).filter((u) => u > known) : [];
    if (fresh.length > 0) fetches.push({ uids: fresh.sort((a, b) => a - b), attributes: c.fetch! });
  }
  return {
    before,
    fetches,
    after: () =>
      pending.flatMap(({ c, added }) => {
        const additions = render(c, added, (u) => (c.uid ? u : view.seqOf(u)));
        return additions.length > 0 ? [esearch(c, 'addTo', additions)] : [];
      }),
  };
}

/**
 * This session's own EXPUNGE/MOVE removed `gone` (message numbers as they
 * were before): the REMOVEFROM responses to send before its EXPUNGE/VANISHED.
 */
export function contextRemovals(session: Session, gone: ReadonlyArray<{ seq: number; uid: number }>): Response[] {
  const set = contextsOf(session);
  if (!set || set.contexts.size === 0 || gone.length === 0) return [];
  const seqOf = new Map(gone.map((g) => [g.uid, g.seq]));
  const out: Response[] = [];
  for (const c of set.contexts.values()) {
    const next = c.results.filter((u) => !seqOf.has(u));
    if (next.length === c.results.length) continue;
    const { removed } = difference(c.results, next, c.criteria !== null);
    c.results = next;
    const removals = render(c, removed, (u) => (c.uid ? u : seqOf.get(u)!));
    if (removals.length > 0) out.push(esearch(c, 'removeFrom', removals));
  }
  return out;
}
