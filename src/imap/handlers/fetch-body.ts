// Body data for FETCH: BODY[section]<partial>, RFC822.*, BINARY[part]<partial>
// and BINARY.SIZE. Only the byte range a section needs is read from the
// blob; large ranges are streamed to the socket instead of buffered.

import { Readable } from 'node:stream';
import type { BlobStore } from '../../mail/ports.js';
import type { MessageMeta } from '../../mail/types.js';
import { filterHeaderFields, resolvePart, sectionRange } from '../../mime/sections.js';
import { createTransferDecoder, isIdentityEncoding, type TransferDecoder } from '../../mime/transfer-encoding.js';
import type { MessageIndex, MimePart } from '../../mime/types.js';
import type { FetchAttribute, Partial, Section } from '../../protocol/imap/ast.js';
import type { FetchItem, StreamedLiteral } from '../../protocol/imap/response.js';
import { CommandError } from '../context.js';

/** Ranges up to this size are read into memory; larger ones are streamed. */
export const STREAM_THRESHOLD = 64 * 1024;

type BodyAttr = Extract<FetchAttribute, { kind: 'BODY[]' | 'BINARY[]' | 'BINARY.SIZE' | 'RFC822' | 'RFC822.HEADER' | 'RFC822.TEXT' }>;

export interface BodySource {
  blobs: BlobStore;
  meta: MessageMeta;
  /** Loads (once) the message's index; never reads the blob. */
  index(): Promise<MessageIndex>;
}

function sectionSpec(section: Section): string {
  const parts: string[] = [];
  if (section.part.length > 0) parts.push(section.part.join('.'));
  if (section.text) parts.push(section.text);
  let spec = parts.join('.');
  if (section.text === 'HEADER.FIELDS' || section.text === 'HEADER.FIELDS.NOT') spec += ` (${section.fields.join(' ')})`;
  return spec;
}

/** True when the attribute needs the message index (not only the metadata row). */
export function needsIndex(attr: FetchAttribute): boolean {
  switch (attr.kind) {
    case 'ENVELOPE':
    case 'BODYSTRUCTURE':
    case 'BODY':
    case 'PREVIEW':
    case 'RFC822.HEADER':
    case 'RFC822.TEXT':
    case 'BINARY[]':
    case 'BINARY.SIZE':
      return true;
    case 'BODY[]':
      return attr.section.part.length > 0 || attr.section.text !== null;
    default:
      return false;
  }
}

/** True when fetching the attribute sets \Seen (RFC 9051 6.4.5). */
export function setsSeen(attr: FetchAttribute): boolean {
  return (
    ((attr.kind === 'BODY[]' || attr.kind === 'BINARY[]') && !attr.peek) || attr.kind === 'RFC822' || attr.kind === 'RFC822.TEXT'
  );
}

export async function bodyItem(src: BodySource, attr: BodyAttr): Promise<FetchItem> {
  switch (attr.kind) {
    case 'RFC822':
      return rawSection(src, 'RFC822', { part: [], text: null, fields: [] }, null);
    case 'RFC822.HEADER':
      return rawSection(src, 'RFC822.HEADER', { part: [], text: 'HEADER', fields: [] }, null);
    case 'RFC822.TEXT':
      return rawSection(src, 'RFC822.TEXT', { part: [], text: 'TEXT', fields: [] }, null);
    case 'BODY[]': {
      const name = `BODY[${sectionSpec(attr.section)}]` + (attr.partial ? `<${attr.partial.start}>` : '');
      return rawSection(src, name, attr.section, attr.partial);
    }
    case 'BINARY[]': {
      const name = `BINARY[${attr.part.join('.')}]` + (attr.partial ? `<${attr.partial.start}>` : '');
      return binarySection(src, name, attr.part, attr.partial);
    }
    case 'BINARY.SIZE':
      return { kind: 'BINARY.SIZE', part: attr.part, size: await binarySize(src, attr.part) };
  }
}

function applyPartial(start: number, end: number, partial: Partial | null): { start: number; end: number } {
  if (!partial) return { start, end };
  const s = Math.min(end, start + partial.start);
  return { start: s, end: Math.min(end, s + partial.length) };
}

async function rawSection(src: BodySource, name: string, section: Section, partial: Partial | null): Promise<FetchItem> {
  const { meta, blobs } = src;
  let range: { start: number; end: number } | null;
  if (section.part.length === 0 && section.text === null) range = { start: 0, end: meta.size };
  else range = sectionRange(await src.index(), section.part, section.text);
  // A section that does not exist reads as empty (what widely used servers send).
  if (!range) return { kind: 'data', name, data: Buffer.alloc(0) };
  if (section.text === 'HEADER.FIELDS' || section.text === 'HEADER.FIELDS.NOT') {
    const header = await blobs.readBuffer(meta.blobId, range);
    const filtered = filterHeaderFields(header, section.fields, section.text === 'HEADER.FIELDS.NOT');
    const p = applyPartial(0, filtered.length, partial);
    return { kind: 'data', name, data: filtered.subarray(p.start, p.end) };
  }
  const r = applyPartial(range.start, range.end, partial);
  return { kind: 'data', name, data: await blobData(blobs, meta, r) };
}

async function blobData(blobs: BlobStore, meta: MessageMeta, r: { start: number; end: number }): Promise<Buffer | StreamedLiteral> {
  const size = r.end - r.start;
  if (size <= 0) return Buffer.alloc(0);
  if (size <= STREAM_THRESHOLD) return blobs.readBuffer(meta.blobId, r);
  const open = (): Readable & AsyncIterable<Buffer> => blobs.read(meta.blobId, r) as Readable & AsyncIterable<Buffer>;
  if (!blobs.pipeRange) return { kind: 'stream', size, binary: false, open };
  return { kind: 'stream', size, binary: false, open, pipe: (sink) => blobs.pipeRange!(meta.blobId, r, sink) };
}

interface BinaryTarget {
  range: { start: number; end: number };
  /** null: no decoding (identity, a multipart body or the whole message). */
  encoding: string | null;
}

async function binaryTarget(src: BodySource, part: number[]): Promise<BinaryTarget | null> {
  if (part.length === 0) return { range: { start: 0, end: src.meta.size }, encoding: null };
  const index = await src.index();
  const target: MimePart | null = resolvePart(index.root, part);
  if (!target) return null;
  const range = { start: target.bodyStart, end: target.bodyEnd };
  if (target.children || target.message || isIdentityEncoding(target.encoding)) return { range, encoding: null };
  if (!createTransferDecoder(target.encoding)) {
    throw new CommandError({ status: 'NO', code: { kind: 'UNKNOWN-CTE' }, text: `Unknown Content-Transfer-Encoding ${target.encoding}` });
  }
  return { range, encoding: target.encoding };
}

async function* decodeStream(source: AsyncIterable<Buffer>, decoder: TransferDecoder): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const out = decoder.push(chunk);
    if (out.length > 0) yield out;
  }
  const tail = decoder.end();
  if (tail.length > 0) yield tail;
}

/** Yields bytes [skip, skip+limit) of a byte stream. */
async function* sliceStream(source: AsyncIterable<Buffer>, skip: number, limit: number): AsyncGenerator<Buffer> {
  let pos = 0;
  const end = skip + limit;
  for await (const chunk of source) {
    const from = Math.max(0, skip - pos);
    const to = Math.min(chunk.length, end - pos);
    pos += chunk.length;
    if (to > from) yield chunk.subarray(from, to);
    if (pos >= end) return;
  }
}

function decoded(src: BodySource, t: BinaryTarget): AsyncIterable<Buffer> {
  const raw = src.blobs.read(src.meta.blobId, t.range) as Readable & AsyncIterable<Buffer>;
  return decodeStream(raw, createTransferDecoder(t.encoding!)!);
}

/** Returned by forEachDecoded's callback: no more bytes are wanted. */
const STOP = Symbol('stop');

/**
 * Calls `each` with the decoded bytes of the target in order, reading the
 * raw bytes through the store's reused buffers when it has them (the
 * decoders never keep their input, so a raw buffer is free again once `each`
 * resolved). Returning STOP from `each` ends the reading early.
 */
async function forEachDecoded(src: BodySource, t: BinaryTarget, each: (out: Buffer) => Promise<unknown> | unknown): Promise<void> {
  const { blobs, meta } = src;
  if (!blobs.pipeRange) {
    for await (const out of decoded(src, t)) if ((await each(out)) === STOP) return;
    return;
  }
  // `each` is done with a decoded chunk before the next is decoded: one output buffer serves them all.
  const decoder = createTransferDecoder(t.encoding!, { reuseOutput: true })!;
  const stopped = new Error('stop');
  try {
    await blobs.pipeRange(meta.blobId, t.range, async (chunk) => {
      const out = decoder.push(chunk);
      if (out.length > 0 && (await each(out)) === STOP) throw stopped;
    });
  } catch (err) {
    if (err === stopped) return;
    throw err;
  }
  const tail = decoder.end();
  if (tail.length > 0) await each(tail);
}

/** Decoded size and whether a NUL occurs, by streaming (nothing is kept). */
async function scanDecoded(src: BodySource, t: BinaryTarget): Promise<{ size: number; nul: boolean }> {
  let size = 0;
  let nul = false;
  await forEachDecoded(src, t, (chunk) => {
    size += chunk.length;
    if (!nul && chunk.includes(0)) nul = true;
  });
  return { size, nul };
}

/** Sends decoded bytes [skip, skip+limit) of the target through `sink`. */
async function pipeDecoded(src: BodySource, t: BinaryTarget, skip: number, limit: number, sink: (chunk: Buffer) => Promise<void>): Promise<void> {
  let pos = 0;
  const end = skip + limit;
  await forEachDecoded(src, t, async (out) => {
    const from = Math.max(0, skip - pos);
    const to = Math.min(out.length, end - pos);
    pos += out.length;
    if (to > from) await sink(out.subarray(from, to));
    return pos >= end ? STOP : undefined;
  });
}

async function binarySection(src: BodySource, name: string, part: number[], partial: Partial | null): Promise<FetchItem> {
  const t = await binaryTarget(src, part);
  if (!t) return { kind: 'data', name, data: Buffer.alloc(0) };
  if (t.encoding === null) {
    const r = applyPartial(t.range.start, t.range.end, partial);
    const data = await blobData(src.blobs, src.meta, r);
    const binary = Buffer.isBuffer(data) ? data.includes(0) : true;
    if (!Buffer.isBuffer(data)) return { kind: 'data', name, data: { ...data, binary } };
    return { kind: 'data', name, data, binary };
  }
  if (t.range.end - t.range.start <= STREAM_THRESHOLD) {
    const raw = await src.blobs.readBuffer(src.meta.blobId, t.range);
    const decoder = createTransferDecoder(t.encoding)!;
    const head = decoder.push(raw);
    const all = Buffer.concat([head, decoder.end()]);
    const p = applyPartial(0, all.length, partial);
    const data = all.subarray(p.start, p.end);
    return { kind: 'data', name, data, binary: data.includes(0) };
  }
  const scan = await scanDecoded(src, t);
  const p = applyPartial(0, scan.size, partial);
  const size = p.end - p.start;
  const stream: StreamedLiteral = {
    kind: 'stream',
    size,
    binary: scan.nul,
    open: () => toReadableLike(sliceStream(decoded(src, t), p.start, size)),
    pipe: (sink) => pipeDecoded(src, t, p.start, size, sink),
  };
  return { kind: 'data', name, data: size === 0 ? Buffer.alloc(0) : stream };
}

async function binarySize(src: BodySource, part: number[]): Promise<number> {
  const t = await binaryTarget(src, part);
  if (!t) return 0;
  if (t.encoding === null) return t.range.end - t.range.start;
  return (await scanDecoded(src, t)).size;
}

/** The connection only iterates streamed literals; give a generator that shape. */
function toReadableLike(gen: AsyncGenerator<Buffer>): NodeJS.ReadableStream & AsyncIterable<Buffer> {
  return Readable.from(gen, { objectMode: false });
}
