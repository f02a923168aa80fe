// File operations on descriptors through Node's callback API, as promises.
// fs/promises wraps every descriptor in a FileHandle (an object with its own
// close tracking and finalizer) and every call in more JavaScript: on the
// delivery path, about a dozen such calls per stored message cost a
// measurable part of the event loop's time. One thread-pool operation each.

import * as fs from 'node:fs';

export function fdOpen(file: string, flags: string, mode?: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function fdRead(fd: number, buf: Buffer, off: number, position: number, length = buf.length - off): Promise<number> {
  return new Promise((resolve, reject) => fs.read(fd, buf, off, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

export function fdStat(fd: number): Promise<fs.Stats> {
  return new Promise((resolve, reject) => fs.fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

export function fdSync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fsync(fd, (err) => (err ? reject(err) : resolve())));
}

export function fdClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

export function renameFile(from: string, to: string): Promise<void> {
  return new Promise((resolve, reject) => fs.rename(from, to, (err) => (err ? reject(err) : resolve())));
}

/**
 * fsync of a file or a directory (a directory's new entries survive a
 * crash) by its path: open read-only (enough for fsync on Linux), fsync,
 * and close off the caller's path.
 */
export async function syncPath(file: string): Promise<void> {
  const fd = await fdOpen(file, 'r');
  try {
    await fdSync(fd);
  } finally {
    fs.close(fd, () => {});
  }
}

/** syncPath with plain system calls (store start-up, where nothing else waits). */
export function syncPathSync(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
