// The client side of COMPRESS=DEFLATE (RFC 4978) for transcripts: deflates
// what it sends and inflates what it reads with node:zlib directly (not the
// server's DeflateStream), so a transcript checks the server against an
// independent implementation.

import assert from 'node:assert/strict';
import type net from 'node:net';
import { Duplex } from 'node:stream';
import zlib from 'node:zlib';
import { Client } from './transcript.js';

/** Wire bytes seen on the raw socket of a compressed client. */
export interface Counters {
  rawIn: number;
  inflatedIn: number;
}

export interface CompressedClient {
  /** A transcript client that reads and writes through zlib. */
  client: Client;
  counters: Counters;
  /** The socket underneath, which carries the compressed bytes. */
  raw: net.Socket;
}

/** Switches `c` to compressed I/O: call after reading the tagged OK of COMPRESS DEFLATE. */
export function compressClient(c: Client): CompressedClient {
  assert.equal(c.pending, '', 'nothing may follow the tagged OK uncompressed');
  const raw = c.socket;
  raw.removeAllListeners('data');
  const counters: Counters = { rawIn: 0, inflatedIn: 0 };
  const inflate = zlib.createInflateRaw();
  const deflate = zlib.createDeflateRaw();
  inflate.on('error', () => raw.destroy());
  deflate.on('data', (d: Buffer) => raw.write(d));
  const wrapped = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      deflate.write(chunk);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => cb());
    },
  });
  raw.on('data', (d: Buffer) => {
    counters.rawIn += d.length;
    inflate.write(d);
  });
  inflate.on('data', (d: Buffer) => {
    counters.inflatedIn += d.length;
    wrapped.push(d);
  });
  // zlib inflates on the thread pool: what arrived before the close (a BYE,
  // the LOGOUT's OK) may still be inflating. Close the client side only after it.
  raw.on('close', () => inflate.end());
  inflate.on('end', () => wrapped.destroy());
  inflate.on('error', () => wrapped.destroy());
  wrapped.on('error', () => {});
  return { client: Client.over(wrapped as unknown as net.Socket), counters, raw };
}

/** Sends `<tag> COMPRESS DEFLATE`, expects its OK and switches `c` to compressed I/O. */
export async function compressed(c: Client, tag = 'z'): Promise<CompressedClient> {
  await c.run(`${tag} COMPRESS DEFLATE`, [`${tag} OK DEFLATE active`]);
  return compressClient(c);
}
