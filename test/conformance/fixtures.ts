// Messages for the conformance suites: raw bytes, their blob id and index.

import { createHash } from 'node:crypto';
import { indexMessage } from '../../src/mime/indexer.js';
import type { BlobStore } from '../../src/mail/ports.js';
import type { AppendItem } from '../../src/mail/types.js';

export interface TestMessage {
  raw: Buffer;
  blobId: string;
  item(flags?: string[], internalDate?: Date): AppendItem;
}

export function rawMessage(opts: {
  from?: string;
  to?: string;
  cc?: string;
  subject?: string;
  date?: string;
  body?: string;
  extraHeaders?: string[];
}): Buffer {
  const lines = [
    `From: ${opts.from ?? 'Alice <alice@example.org>'}`,
    `To: ${opts.to ?? 'Bob <bob@example.org>'}`,
    ...(opts.cc ? [`Cc: ${opts.cc}`] : []),
    `Subject: ${opts.subject ?? 'Hello'}`,
    ...(opts.date === '' ? [] : [`Date: ${opts.date ?? 'Mon, 7 Feb 1994 21:52:25 -0800'}`]),
    'Message-ID: <' + createHash('sha1').update(JSON.stringify(opts)).digest('hex') + '@example.org>',
    ...(opts.extraHeaders ?? []),
    '',
    opts.body ?? 'Hello, world.',
    '',
  ];
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

export function testMessage(raw: Buffer | Parameters<typeof rawMessage>[0]): TestMessage {
  const bytes = Buffer.isBuffer(raw) ? raw : rawMessage(raw);
  const blobId = createHash('sha256').update(bytes).digest('hex');
  const index = indexMessage(bytes);
  return {
    raw: bytes,
    blobId,
    item: (flags = [], internalDate = new Date('2024-03-10T12:00:00Z')) => ({ blobId, index, flags, internalDate }),
  };
}

/** Stores the bytes in the BlobStore when the backend under test has one (blobs must be durable before append). */
export async function putBlob(blobs: BlobStore | undefined, m: TestMessage): Promise<void> {
  if (!blobs) return;
  const w = blobs.beginWrite();
  await w.write(m.raw);
  const { blobId } = await w.commit();
  if (blobId !== m.blobId) throw new Error('blob id mismatch');
}

let counter = 0;
/** A name unique within this process (tests share one repository and isolate by account). */
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}
