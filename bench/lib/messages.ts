// Deterministic, realistic message mix. Message i of seed s is always the same
// bytes (its own PRNG stream), so both targets receive identical mail.
//
// Mix (by count), roughly like a real mailbox: most mail is small text, some is
// HTML newsletters/replies, a few carry attachments that dominate the bytes.
//   72 %  text/plain, 1-10 KB
//   20 %  multipart/alternative (text + HTML), ~3-30 KB
//    8 %  multipart/mixed with a base64 attachment of 100 KB - 1 MB (log-uniform)

export type Rng = () => number;

/** mulberry32: small, fast, good enough for load mixes. Returns [0, 1). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes two integers into a new seed (so message i has its own stream). */
export function subSeed(seed: number, i: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (i + 0x85ebca6b), 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

export function randInt(rng: Rng, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

const WORDS = (
  'the of and to in is you that it he was for on are as with his they at be this have from or one had by ' +
  'word but not what all were we when your can said there use an each which she do how their if will up other ' +
  'about out many then them these so some her would make like him into time has look two more write go see number ' +
  'no way could people my than first water been call who oil its now find long down day did get come made may part ' +
  'meeting report budget project invoice review schedule deadline release server mailbox customer contract attached ' +
  'thanks regards please update draft agenda quarter numbers proposal question answer follow week monday friday'
).split(' ');
// Some 8-bit text, as real mail has (sent as UTF-8, 8bit).
const WORDS_8BIT = ['café', 'Grüße', 'naïve', 'smørrebrød', 'déjà', 'Übersicht', 'niño', 'façade'];
const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Olivia'];
const LAST = ['Martin', 'Dupont', 'Smith', 'Müller', 'Rossi', 'Garcia', 'Nowak', 'Jensen', 'Silva', 'Kowalski'];
const DOMAINS = ['example.com', 'example.org', 'example.net', 'mail.example', 'corp.example'];

function words(rng: Rng, n: number): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(rng() < 0.01 ? pick(rng, WORDS_8BIT) : pick(rng, WORDS));
  return out.join(' ');
}

/** Text of about `bytes` bytes, wrapped at ~72 columns, CRLF line ends, in paragraphs. */
function paragraphs(rng: Rng, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  let line = '';
  while (size < bytes) {
    const w = rng() < 0.01 ? pick(rng, WORDS_8BIT) : pick(rng, WORDS);
    if (line.length + w.length + 1 > 72) {
      lines.push(line);
      size += line.length + 2;
      line = '';
      if (rng() < 0.12) {
        lines.push('');
        size += 2;
      }
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\r\n') + '\r\n';
}

function person(rng: Rng): { name: string; addr: string } {
  const first = pick(rng, FIRST);
  const last = pick(rng, LAST);
  return { name: `${first} ${last}`, addr: `${first.toLowerCase()}.${randInt(rng, 1, 99)}@${pick(rng, DOMAINS)}` };
}

/** RFC 2047 B-encoding for display names/subjects with 8-bit characters. */
function encodeWord(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(s) ? s : `=?UTF-8?B?${Buffer.from(s, 'utf8').toString('base64')}?=`;
}

function mailbox(p: { name: string; addr: string }): string {
  return `${encodeWord(p.name)} <${p.addr}>`;
}

const BASE_DATE = Date.UTC(2024, 0, 1, 8, 0, 0);
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function rfc5322Date(ms: number): string {
  const d = new Date(ms);
  const p2 = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())} +0000`
  );
}

function base64Lines(data: Buffer): string {
  const b64 = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(b64.slice(i, i + 76));
  return lines.join('\r\n') + '\r\n';
}

function randomBytes(rng: Rng, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) buf.writeUInt32LE(Math.floor(rng() * 4294967296), i);
  for (; i < n; i++) buf[i] = Math.floor(rng() * 256);
  return buf;
}

export type MessageKind = 'plain' | 'alternative' | 'mixed';

export interface GeneratedMessage {
  kind: MessageKind;
  bytes: Buffer;
}

export interface MessageOptions {
  /** Recipient address for the To: header. */
  to: string;
  /** Force a kind (otherwise drawn from the mix). */
  kind?: MessageKind;
}

function chooseKind(rng: Rng): MessageKind {
  const r = rng();
  if (r < 0.72) return 'plain';
  if (r < 0.92) return 'alternative';
  return 'mixed';
}

/** Message `index` of the mix for `seed`: same arguments, same bytes. */
export function generateMessage(seed: number, index: number, opts: MessageOptions): GeneratedMessage {
  const rng = createRng(subSeed(seed, index));
  const kind = opts.kind ?? chooseKind(rng);
  const from = person(rng);
  const subjectWords = words(rng, randInt(rng, 3, 9));
  const subject = (rng() < 0.3 ? 'Re: ' : '') + subjectWords[0]!.toUpperCase() + subjectWords.slice(1);
  const date = rfc5322Date(BASE_DATE + index * 37 * 60_000 + randInt(rng, 0, 59) * 1000);
  const messageId = `<${seed}.${index}.${randInt(rng, 100000, 999999)}@${from.addr.split('@')[1]}>`;
  const headers = [
    `Return-Path: <${from.addr}>`,
    `From: ${mailbox(from)}`,
    `To: ${opts.to}`,
    ...(rng() < 0.25 ? [`Cc: ${mailbox(person(rng))}, ${mailbox(person(rng))}`] : []),
    `Subject: ${encodeWord(subject)}`,
    `Date: ${date}`,
    `Message-ID: ${messageId}`,
    'MIME-Version: 1.0',
  ];

  let body: string;
  if (kind === 'plain') {
    headers.push('Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit');
    body = paragraphs(rng, randInt(rng, 1024, 10 * 1024));
  } else if (kind === 'alternative') {
    const boundary = `alt-${seed}-${index}`;
    headers.push(`Content-Type: multipart/alternative; boundary="${boundary}"`);
    const text = paragraphs(rng, randInt(rng, 1024, 8 * 1024));
    const html = `<html><body>\r\n<p>${text.split('\r\n\r\n').join('</p>\r\n<p>')}</p>\r\n</body></html>\r\n`;
    body =
      'This is a multi-part message in MIME format.\r\n' +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}` +
      `--${boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${html}` +
      `--${boundary}--\r\n`;
  } else {
    const boundary = `mix-${seed}-${index}`;
    headers.push(`Content-Type: multipart/mixed; boundary="${boundary}"`);
    const text = paragraphs(rng, randInt(rng, 512, 4 * 1024));
    // log-uniform 100 KB .. 1 MB
    const attachmentSize = Math.round(100 * 1024 * Math.pow(10, rng()));
    const ext = pick(rng, ['pdf', 'jpg', 'docx', 'zip']);
    const type = { pdf: 'application/pdf', jpg: 'image/jpeg', docx: 'application/octet-stream', zip: 'application/zip' }[
      ext
    ]!;
    body =
      'This is a multi-part message in MIME format.\r\n' +
      `--${boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${text}` +
      `--${boundary}\r\nContent-Type: ${type}; name="file${index}.${ext}"\r\n` +
      `Content-Disposition: attachment; filename="file${index}.${ext}"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
      base64Lines(randomBytes(rng, attachmentSize)) +
      `--${boundary}--\r\n`;
  }
  return { kind, bytes: Buffer.from(headers.join('\r\n') + '\r\n\r\n' + body, 'utf8') };
}

/** A small text message (1-3 KB) such as a draft or a sent reply; `index` makes it unique. */
export function smallMessage(seed: number, index: number, to: string): Buffer {
  const rng = createRng(subSeed(seed ^ 0x5a5a5a5a, index));
  const from = person(rng);
  const headers = [
    `From: ${mailbox(from)}`,
    `To: ${to}`,
    // Encoded like every other header here: raw 8-bit header octets are refused (RFC 6855 4) from a client that did not ENABLE UTF8=ACCEPT.
    `Subject: Draft ${index}: ${encodeWord(words(rng, 4))}`,
    `Date: ${rfc5322Date(BASE_DATE + index * 1000)}`,
    `Message-ID: <draft.${seed}.${index}@bench.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  return Buffer.from(headers.join('\r\n') + '\r\n\r\n' + paragraphs(rng, randInt(rng, 1024, 3 * 1024)), 'utf8');
}

/**
 * Prepends a Received: trace line so every delivery is distinct bytes even
 * when the body comes from a pool (servers that deduplicate content must not
 * be flattered by repeated bodies).
 */
export function withTraceHeader(message: Buffer, id: string): Buffer {
  const trace = Buffer.from(`Received: from bench.localhost by target; id ${id}\r\n`);
  return Buffer.concat([trace, message]);
}
