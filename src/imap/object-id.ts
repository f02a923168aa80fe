// OBJECTID (RFC 8474): MAILBOXID, EMAILID and THREADID, derived from what the
// store already keeps (no schema of their own).
//
// - MAILBOXID: the mailbox's id in its repository and its UIDVALIDITY (both
//   kept by RENAME; a mailbox re-created under a name gets a new id and a new
//   UIDVALIDITY). Moving an account to another repository gives its mailboxes
//   new ids, so their MAILBOXIDs change then (UIDVALIDITY does not).
// - EMAILID: the blob id (SHA-256 of the content): copies, moves and identical
//   appends share it, as RFC 8474 5.1 allows.
// - THREADID: a hash of the thread's root message-id as the message itself
//   names it (the first References id, else the In-Reply-To id, else its own
//   Message-ID; a message with none of them is a thread of its own, keyed by
//   its blob). It depends only on the message's content, so it is the same for
//   the same EMAILID and never changes once reported (5.2), and related
//   messages in different mailboxes share it.
// All start with a letter and use only [A-Za-z0-9_-] (objectid, RFC 8474 7).

import { createHash } from 'node:crypto';
import type { BlobId, MailboxInfo, MessageMeta } from '../mail/types.js';
import type { MessageIndex } from '../mime/types.js';
import type { SearchKey } from '../protocol/imap/ast.js';
import { compressUids } from '../protocol/imap/sequence.js';
import type { Session } from './session.js';
import { messageIds } from './sorting.js';
import { DEFAULT_REPOSITORY } from '../mail/repository.js';
import { MailboxView } from './view.js';

function hashHex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/**
 * Mailbox ids and UIDVALIDITYs are allocated per repository database: a
 * mailbox outside the default repository gets its repository's hash too, so
 * MAILBOXIDs stay unique among all the mailboxes a user can see.
 */
export function mailboxObjectId(mailbox: Pick<MailboxInfo, 'id' | 'uidValidity'>, repository: string): string {
  const base = `F${mailbox.id.toString(36)}_${mailbox.uidValidity.toString(36)}`;
  return repository === DEFAULT_REPOSITORY ? base : `${base}_${hashHex(repository, 8)}`;
}

export function emailObjectId(blobId: BlobId): string {
  return `M${blobId}`;
}

/** The message-id a message names as its thread's root (null when it names none). */
function threadRoot(index: MessageIndex): string | null {
  const header = (name: string): string | null => index.headers.find((h) => h.name === name)?.value ?? null;
  return messageIds(header('references'))[0] ?? messageIds(header('in-reply-to'))[0] ?? messageIds(header('message-id'))[0] ?? null;
}

export function threadObjectId(blobId: BlobId, index: MessageIndex): string {
  const root = threadRoot(index);
  return `T${hashHex(root === null ? `blob:${blobId}` : `id:${root}`, 24)}`;
}

const NOTHING: SearchKey = { kind: 'NOT', key: { kind: 'ALL' } };
const CHUNK = 1000;

function usesObjectIds(key: SearchKey): boolean {
  switch (key.kind) {
    case 'EMAILID':
    case 'THREADID':
      return true;
    case 'NOT':
      return usesObjectIds(key.key);
    case 'OR':
      return usesObjectIds(key.left) || usesObjectIds(key.right);
    case 'AND':
      return key.keys.some(usesObjectIds);
    default:
      return false;
  }
}

/**
 * Replaces the EMAILID/THREADID search keys (RFC 8474 6) by the UIDs of the
 * messages the session knows that carry that id. The store has no column for
 * them, so this reads the metadata (and, for THREADID, the stored index) of
 * the selected mailbox's messages: only done when a search uses these keys.
 */
export async function resolveObjectIdKeys(session: Session, key: SearchKey): Promise<SearchKey> {
  if (!usesObjectIds(key)) return key;
  const sel = session.selected!;
  const store = session.deps.store;
  const wantsThreads = JSON.stringify(key).includes('"THREADID"');
  const byEmail = new Map<string, number[]>();
  const byThread = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, id: string, uid: number): void => {
    const list = map.get(id);
    if (list) list.push(uid);
    else map.set(id, [uid]);
  };
  const uids = sel.view.allUids();
  const threadOfBlob = new Map<BlobId, string>();
  for (let i = 0; i < uids.length; i += CHUNK) {
    const metas: MessageMeta[] = await store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(uids.slice(i, i + CHUNK)));
    for (const m of metas) {
      if (m.expungedModseq !== null) continue;
      add(byEmail, emailObjectId(m.blobId), m.uid);
      if (!wantsThreads) continue;
      let thread = threadOfBlob.get(m.blobId);
      if (thread === undefined) {
        thread = threadObjectId(m.blobId, await store.getIndex(m.blobId));
        threadOfBlob.set(m.blobId, thread);
      }
      add(byThread, thread, m.uid);
    }
  }
  const toKey = (found: number[] | undefined): SearchKey => {
    if (!found || found.length === 0) return NOTHING;
    return { kind: 'UID', set: compressUids(found) };
  };
  const rewrite = (k: SearchKey): SearchKey => {
    switch (k.kind) {
      case 'EMAILID':
        return toKey(byEmail.get(k.id));
      case 'THREADID':
        return toKey(byThread.get(k.id));
      case 'NOT':
        return { kind: 'NOT', key: rewrite(k.key) };
      case 'OR':
        return { kind: 'OR', left: rewrite(k.left), right: rewrite(k.right) };
      case 'AND':
        return { kind: 'AND', keys: k.keys.map(rewrite) };
      default:
        return k;
    }
  };
  return rewrite(key);
}
