// OBJECTID (RFC 8474): MAILBOXID, EMAILID and THREADID, derived from what the
// store already keeps (no schema of their own).
//
// - MAILBOXID: the mailbox's id in its repository and its UIDVALIDITY (both
//   kept by RENAME; a mailbox re-created under a name gets a new id and a new
//   UIDVALIDITY). Moving an account to another repository gives its mailboxes
//   new ids, so their MAILBOXIDs change then (UIDVALIDITY does not).
// - EMAILID: the blob id (SHA-256 of the content): copies, moves and identical
//   appends share it, as RFC 8474 5.1 allows. SEARCH EMAILID is the store's
//   query on the message's blob id (SearchQuery 'blob'), answered in SQL.
// - THREADID: a hash of the thread's root message-id as the message itself
//   names it (the first References id, else the In-Reply-To id, else its own
//   Message-ID; a message with none of them is a thread of its own, keyed by
//   its blob). It depends only on the message's content, so it is the same for
//   the same EMAILID and never changes once reported (5.2), and related
//   messages in different mailboxes share it. The store cannot answer
//   SEARCH THREADID: the root is chosen by parsing msg-ids out of the stored
//   index (the folded search text has lost their case), and SQLite has no
//   SHA-256; it would need a column written at ingest (and filled for the
//   messages stored before). So that search reads the mailbox's messages.
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

const EMAIL_PREFIX = 'M';

export function emailObjectId(blobId: BlobId): string {
  return `${EMAIL_PREFIX}${blobId}`;
}

/** The blob an EMAILID names, or null for an id that is no EMAILID of ours (it matches nothing). */
export function emailObjectIdBlob(emailId: string): BlobId | null {
  return emailId.startsWith(EMAIL_PREFIX) && emailId.length > EMAIL_PREFIX.length ? emailId.slice(EMAIL_PREFIX.length) : null;
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

/**
 * Replaces the THREADID search keys (RFC 8474 6) by the UIDs of the messages
 * the session knows that carry that id. The store cannot answer them (see
 * above), so this reads the metadata and the stored index of the selected
 * mailbox's messages: call it only for a search that uses THREADID. EMAILID
 * is left to the store (toQuery in search-query.ts).
 */
export async function resolveThreadIdKeys(session: Session, key: SearchKey): Promise<SearchKey> {
  const sel = session.selected!;
  const store = session.deps.store;
  const byThread = new Map<string, number[]>();
  const uids = sel.view.allUids();
  const threadOfBlob = new Map<BlobId, string>();
  for (let i = 0; i < uids.length; i += CHUNK) {
    const metas: MessageMeta[] = await store.fetchMessages(sel.mailbox.id, MailboxView.toUidSet(uids.slice(i, i + CHUNK)));
    for (const m of metas) {
      if (m.expungedModseq !== null) continue;
      let thread = threadOfBlob.get(m.blobId);
      if (thread === undefined) {
        thread = threadObjectId(m.blobId, await store.getIndex(m.blobId));
        threadOfBlob.set(m.blobId, thread);
      }
      const list = byThread.get(thread);
      if (list) list.push(m.uid);
      else byThread.set(thread, [m.uid]);
    }
  }
  const rewrite = (k: SearchKey): SearchKey => {
    switch (k.kind) {
      case 'THREADID': {
        const found = byThread.get(k.id);
        return found ? { kind: 'UID', set: compressUids(found) } : NOTHING;
      }
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
