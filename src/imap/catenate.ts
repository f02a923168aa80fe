// CATENATE (RFC 4469): a message built from TEXT literals and IMAP URLs of
// messages or parts this session may read, streamed into the ingest
// pipeline. Nothing is held in memory: TEXT literals were staged to the blob
// store while they arrived (spool.ts), URL parts are byte ranges of stored
// blobs, found from the message index (the same ranges as FETCH
// BODY[section], see mime/sections.ts), and RFC 5550 ";PARTIAL=" narrows
// them. Every URL is resolved before any byte is streamed, so a bad one
// answers NO [BADURL <first bad URL>] and nothing is stored.

import type { Readable } from 'node:stream';
import type { BlobStore, ByteRange, MailStore, StagedMessage } from '../mail/ports.js';
import type { MailboxInfo } from '../mail/types.js';
import { filterHeaderFields, sectionRange } from '../mime/sections.js';
import type { CatenatePart, LiteralData } from '../protocol/imap/ast.js';
import { parseImapUrl, resolveUrlMailbox } from '../protocol/imap/imap-url.js';
import { CommandError, type SessionDeps } from './context.js';
import { normalizeInbox } from './mailbox-names.js';
import type { Session } from './session.js';
import { stagedOf } from './spool.js';

/** A piece of the message to build: its size and how to read it. */
interface Piece {
  size: number;
  read(): AsyncIterable<Buffer>;
}

/** A mailbox a URL may read from, with the stores of the repository it lives in. */
export interface UrlSource {
  mailbox: MailboxInfo;
  store: MailStore;
  blobs: BlobStore;
}

/**
 * The mailbox a CATENATE URL names (as the client names it: personal, other
 * users' or shared), if the session may read it (RFC 4314 "r"); the one
 * place where URL mailboxes are looked up. One the user may not see reads
 * as missing.
 */
export async function urlSourceMailbox(session: Session, name: string): Promise<UrlSource | null> {
  if (!session.account) return null;
  const ref = await session.access.resolve(normalizeInbox(name));
  if (!ref?.mailbox || !ref.mailbox.selectable || !ref.rights.includes('r')) return null;
  return { mailbox: ref.mailbox, store: ref.repository.store, blobs: ref.repository.blobs };
}

function badUrl(url: string, why: string): CommandError {
  return new CommandError({ status: 'NO', code: { kind: 'BADURL', url }, text: `Bad URL: ${why}` });
}

/** The bytes a URL names, or a CommandError NO [BADURL]. */
async function urlPiece(session: Session, text: string): Promise<Piece> {
  const parsed = parseImapUrl(text);
  if (!parsed.ok) throw badUrl(text, parsed.reason);
  const url = parsed.url;
  // The base URL is imap://user@server/<selected mailbox, as the client names it> (RFC 4469 3).
  const name = resolveUrlMailbox(url, session.selected?.ref.display ?? null);
  if (name === null) throw badUrl(text, 'no mailbox is selected');
  const source = await urlSourceMailbox(session, name);
  if (!source) throw badUrl(text, 'no such mailbox');
  const { mailbox, store, blobs } = source;
  if (url.uidValidity !== null && url.uidValidity !== mailbox.uidValidity) throw badUrl(text, 'UIDVALIDITY does not match');
  const [meta] = await store.fetchMessages(mailbox.id, [{ start: url.uid, end: url.uid }]);
  if (!meta || meta.expungedModseq !== null) throw badUrl(text, 'no such message');

  let range: ByteRange = { start: 0, end: meta.size };
  let filtered: Buffer | null = null;
  const sec = url.section;
  if (sec && (sec.part.length > 0 || sec.text !== null)) {
    const found = sectionRange(await store.getIndex(meta.blobId), sec.part, sec.text);
    if (!found) throw badUrl(text, 'no such body part');
    range = found;
    if (sec.text === 'HEADER.FIELDS' || sec.text === 'HEADER.FIELDS.NOT') {
      filtered = filterHeaderFields(await blobs.readBuffer(meta.blobId, range), sec.fields, sec.text === 'HEADER.FIELDS.NOT');
    }
  }
  // RFC 5550: like FETCH <partial> on the section's octets (an offset past the end gives nothing).
  const partial = (size: number): { start: number; end: number } => {
    if (!url.partial) return { start: 0, end: size };
    const start = Math.min(size, url.partial.offset);
    return { start, end: url.partial.length === null ? size : Math.min(size, start + url.partial.length) };
  };
  if (filtered) {
    const p = partial(filtered.length);
    const data = filtered.subarray(p.start, p.end);
    return { size: data.length, read: () => once(data) };
  }
  const p = partial(range.end - range.start);
  const r = { start: range.start + p.start, end: range.start + p.end };
  const size = r.end - r.start;
  return { size, read: () => (size === 0 ? once(Buffer.alloc(0)) : (blobs.read(meta.blobId, r) as Readable & AsyncIterable<Buffer>)) };
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  if (data.length > 0) yield data;
}

/** A TEXT part's literal as a piece; a NUL in a plain literal is refused (RFC 3516 4.2: only literal8 may carry one). */
function textPiece(data: LiteralData, binary: boolean): Piece {
  if (Buffer.isBuffer(data)) {
    if (!binary && data.includes(0)) throw nulError();
    return { size: data.length, read: () => once(data) };
  }
  const early = stagedOf(data);
  if (early) {
    if (!early.staged) throw early.error;
    if (early.nul && !binary) throw nulError();
  }
  return { size: data.size, read: () => data.open() };
}

function nulError(): CommandError {
  return new CommandError({ status: 'NO', text: 'Message contains NUL; use a literal8 (~{n})' });
}

async function* concatenate(pieces: Piece[]): AsyncGenerator<Buffer> {
  for (const piece of pieces) {
    for await (const chunk of piece.read()) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
  }
}

/**
 * Resolves every part (the first bad URL answers NO [BADURL]), checks the
 * total against the size limit ([TOOBIG], RFC 4469 4.2, RFC 7889 4), then
 * streams the parts, in order, into the ingest pipeline.
 */
export async function stageCatenated(session: Session, deps: SessionDeps, parts: readonly CatenatePart[]): Promise<StagedMessage> {
  const pieces: Piece[] = [];
  for (const part of parts) {
    pieces.push(part.kind === 'TEXT' ? textPiece(part.data, part.binary) : await urlPiece(session, part.url));
  }
  const limit = deps.config.limits.maxMessageSize;
  const total = pieces.reduce((n, p) => n + p.size, 0);
  if (total > limit) {
    throw new CommandError({ status: 'NO', code: { kind: 'TOOBIG' }, text: `Catenated message too large (limit ${limit} octets)` });
  }
  return deps.ingest.stage(concatenate(pieces), limit);
}
