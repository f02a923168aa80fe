// Where a blob's file lives under <dir>/blobs. A store made from now on puts
// it one level down, blobs/ab/<sha256>: 256 directories in all, so after a
// store's first few hundred blobs no write makes a directory. The layout
// before, blobs/ab/cd/<sha256> (65,536 directories), made a new directory
// (an inode, and an fsync of its parent) for most writes of a young store,
// which slowed its deliveries down where inodes are slow to allocate (see
// the README's delivery figures). A store made before
// keeps its layout: the layout is named in blobs/LAYOUT, written when an
// empty store is first opened; a store with blobs and no such file is of the
// two-level layout.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { syncPathSync } from './fd.js';

export type BlobLayout = 'one-level' | 'two-level';

export const LAYOUT_FILE = 'LAYOUT';
/** A fan-out directory's name (the first two hex digits of the blob ids it holds). */
export const FAN_OUT = /^[0-9a-f]{2}$/;

/** The file of `blobId` under `blobDir` in `layout` (the id is checked by the caller). */
export function blobPath(blobDir: string, layout: BlobLayout, blobId: string): string {
  return layout === 'one-level'
    ? path.join(blobDir, blobId.slice(0, 2), blobId)
    : path.join(blobDir, blobId.slice(0, 2), blobId.slice(2, 4), blobId);
}

/**
 * The layout of the store whose blob directory (existing) is `blobDir`,
 * naming it first in an empty store (durably when `durable`: before any
 * blob is written, since the blobs' places depend on it). Two processes
 * opening an empty store at once write the same name.
 */
export function openLayout(blobDir: string, durable: boolean): BlobLayout {
  const file = path.join(blobDir, LAYOUT_FILE);
  let named: string | null = null;
  try {
    named = fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (named !== null) {
    if (named === 'one-level' || named === 'two-level') return named;
    throw new Error(`${file}: unknown blob layout ${JSON.stringify(named)} (a newer Petrel's?)`);
  }
  if (fs.readdirSync(blobDir).some((name) => FAN_OUT.test(name))) return 'two-level';
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w', 0o640);
  try {
    fs.writeSync(fd, 'one-level\n');
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  if (durable) syncPathSync(blobDir);
  return 'one-level';
}
