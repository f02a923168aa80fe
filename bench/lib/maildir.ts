// A large Maildir of small, varied messages, written once and reused: the
// large-mailbox scenario gives the same files to every target (Petrel imports
// them with `petrel import maildir`, Dovecot gets them as its own Maildir).
// Message i of a seed is always the same bytes, name, flags and mtime.

import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createRng, randInt, subSeed, type Rng } from './messages.js';

/** A word in the Subject of every HEADER_MARK_EVERY-th message, and nowhere else. */
export const HEADER_MARK = 'quokkareport';
export const HEADER_MARK_EVERY = 997;
/** A word in the body of every BODY_MARK_EVERY-th message, and nowhere else. */
export const BODY_MARK = 'zebrafishdata';
export const BODY_MARK_EVERY = 1009;

/** Messages among 0..n-1 carrying the marker every `every` (i % every === every - 1). */
export function markedCount(n: number, every: number): number {
  return Math.floor(n / every);
}

const BASE_SECONDS = 1_600_000_000;
const WORDS = (
  'meeting report budget project invoice review schedule deadline release server mailbox customer contract ' +
  'attached thanks regards please update draft agenda quarter numbers proposal question answer follow week ' +
  'monday friday office travel lunch build test deploy backup network printer coffee holiday summary minutes ' +
  'estimate order shipment ticket support account password login storage archive policy vendor offer'
).split(' ');
const NAMES = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Olivia', 'Peggy'];

function words(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[Math.floor(rng() * WORDS.length)]!);
  return out.join(' ');
}

function rfc5322(seconds: number): string {
  const d = new Date(seconds * 1000);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (x: number) => String(x).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface LargeMessage {
  /** Maildir file name, with its ":2," flags. */
  name: string;
  bytes: Buffer;
  /** Internal date (the file's mtime), seconds. */
  mtime: number;
}

/** Message i (0-based) of the large mailbox: 400-1500 bytes of text, distinct subject, id and body. */
export function largeMessage(seed: number, i: number, to: string): LargeMessage {
  const rng = createRng(subSeed(seed ^ 0x1a2b3c4d, i));
  const seconds = BASE_SECONDS + i * 60;
  const from = NAMES[randInt(rng, 0, NAMES.length - 1)]!;
  let subject = `${words(rng, randInt(rng, 2, 6))} #${i}`;
  if (i % HEADER_MARK_EVERY === HEADER_MARK_EVERY - 1) subject += ` ${HEADER_MARK}`;
  const lines: string[] = [];
  const bodyLines = randInt(rng, 3, 16);
  for (let k = 0; k < bodyLines; k++) lines.push(words(rng, randInt(rng, 4, 12)));
  if (i % BODY_MARK_EVERY === BODY_MARK_EVERY - 1) lines.splice(randInt(rng, 0, lines.length), 0, `see ${BODY_MARK} attached`);
  const text =
    [
      `From: ${from} <${from.toLowerCase()}@example.org>`,
      `To: ${to}`,
      `Subject: ${subject}`,
      `Date: ${rfc5322(seconds)}`,
      `Message-ID: <large.${seed}.${i}@bench.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=us-ascii',
    ].join('\r\n') +
    '\r\n\r\n' +
    lines.join('\r\n') +
    '\r\n';
  // Like an older mailbox: most read, a few flagged or answered (Maildir letters in ASCII order).
  const flags = [rng() < 0.03 ? 'F' : '', rng() < 0.05 ? 'R' : '', rng() < 0.85 ? 'S' : ''].join('');
  return { name: `${seconds}.M${i}P1.bench:2,${flags}`, bytes: Buffer.from(text, 'latin1'), mtime: seconds };
}

/**
 * Makes `<dir>/Maildir` hold messages 0..n-1 of the seed (cur/ only) unless a
 * complete one is already there; returns the Maildir path. A marker file says
 * it is complete, so an interrupted run starts over.
 */
export async function ensureLargeMaildir(
  dir: string,
  n: number,
  seed: number,
  to: string,
  log: (msg: string) => void,
): Promise<{ maildir: string; generated: boolean; seconds: number }> {
  const maildir = path.join(dir, 'Maildir');
  const marker = path.join(dir, 'complete.json');
  const want = JSON.stringify({ n, seed, to, version: 1 });
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === want) return { maildir, generated: false, seconds: 0 };
  const started = performance.now();
  await rm(dir, { recursive: true, force: true });
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(maildir, sub), { recursive: true });
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      const m = largeMessage(seed, i, to);
      const file = path.join(maildir, 'cur', m.name);
      const fh = await open(file, 'w');
      await fh.writeFile(m.bytes);
      await fh.close();
      await utimes(file, m.mtime, m.mtime);
      if ((i + 1) % 100_000 === 0) log(`   maildir: ${i + 1} of ${n} written`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, lane));
  await writeFile(marker, want);
  return { maildir, generated: true, seconds: (performance.now() - started) / 1000 };
}
