// What a search program means in the selected mailbox, shared by SEARCH,
// SORT, THREAD, the update contexts (search-context.ts) and the UIDONLY
// gate (uidonly.ts): the charsets a search may name, the walk over a key's
// criteria, the mapping of IMAP search keys to the domain SearchQuery
// (message numbers and "$" become UIDs through the view), and the matching
// messages with their sort keys.

import type { MessageIndex } from '../mime/types.js';
import type { SearchQuery } from '../mail/types.js';
import type { SearchKey, SeqRange, SequenceSet } from '../protocol/imap/ast.js';
import type { MailStore } from '../mail/ports.js';
import { CommandError, type SelectedMailbox } from './context.js';
import { emailObjectIdBlob, resolveThreadIdKeys } from './object-id.js';
import type { Session } from './session.js';
import { toSortable, type SortableMessage } from './sorting.js';
import { MailboxView } from './view.js';

const CHARSETS = ['UTF-8', 'US-ASCII'];
const NOTHING: SearchQuery = { kind: 'not', query: { kind: 'all' } };
const CHUNK = 1000;

/** Only UTF-8 and US-ASCII (a subset) are known: NO [BADCHARSET] for any other. */
export function checkCharset(charset: string): void {
  if (!CHARSETS.includes(charset.toUpperCase())) {
    throw new CommandError({ status: 'NO', code: { kind: 'BADCHARSET', charsets: CHARSETS }, text: 'Unsupported charset' });
  }
}

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

/** True when the key uses the MODSEQ criterion anywhere (a CONDSTORE enabling search, RFC 7162 3.1.5). */
export function usesModseq(key: SearchKey): boolean {
  return searchKeyUses(key, 'MODSEQ');
}

/** The UIDs of the messages a set of message numbers names now ("*" is the last); numbers beyond the mailbox name none. */
export function uidsAtMessageNumbers(ranges: readonly SeqRange[], view: MailboxView): Set<number> {
  const count = view.exists;
  const uids = new Set<number>();
  for (const r of ranges) {
    const a = r.start === '*' ? count : r.start;
    const b = r.end === '*' ? count : r.end;
    for (let s = Math.max(1, Math.min(a, b)); s <= Math.min(count, Math.max(a, b)); s++) uids.add(view.uidAt(s));
  }
  return uids;
}

/** The domain query for `key` in the selected mailbox (THREADID resolved through the store's messages first). */
export async function selectedQuery(session: Session, key: SearchKey): Promise<SearchQuery> {
  return toQuery(searchKeyUses(key, 'THREADID') ? await resolveThreadIdKeys(session, key) : key, session);
}

/**
 * The UIDs of the selected mailbox's messages matching `query` that this
 * session knows of (they have an MSN; new ones come with the next EXISTS).
 */
export async function searchSelected(sel: SelectedMailbox, store: MailStore, query: SearchQuery): Promise<number[]> {
  const found = await store.search(sel.mailbox.id, query);
  return found.filter((u) => sel.view.seqOf(u) !== 0);
}

export interface Loaded {
  /** In sequence order. */
  messages: SortableMessage[];
  /** MODSEQ of each message, by sequence number. */
  modseqs: Map<number, number>;
}

/**
 * The messages matching `key` that this session knows of (they have an MSN),
 * in sequence order, with their sort keys. `withIndex` false skips reading
 * the stored index (ARRIVAL and SIZE need only the metadata).
 */
export async function loadSortable(session: Session, key: SearchKey, uid: boolean, withIndex: boolean): Promise<Loaded> {
  const sel = session.selected!;
  const store = session.deps.store;
  const uids = await searchSelected(sel, store, await selectedQuery(session, key));
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
  return uidSetQuery([...uidsAtMessageNumbers(set.ranges, view)].sort((x, y) => x - y));
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

/** The domain query for an IMAP search key (THREADID must be resolved first, object-id.ts). */
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
    case 'EMAILID': {
      const blobId = emailObjectIdBlob(key.id);
      return blobId === null ? NOTHING : { kind: 'blob', blobId };
    }
    case 'THREADID':
      // resolveThreadIdKeys (object-id.ts) turns it into a UID set first.
      throw new Error('THREADID search key was not resolved');
    case 'NOT':
      return { kind: 'not', query: toQuery(key.key, session) };
    case 'OR':
      return { kind: 'or', left: toQuery(key.left, session), right: toQuery(key.right, session) };
    case 'AND':
      return { kind: 'and', queries: key.keys.map((k) => toQuery(k, session)) };
  }
}
