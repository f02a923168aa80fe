// Helpers for the sync-client tests (mbsync, offlineimap): read a Maildir
// tree and a user's whole account over IMAP into the same comparable shape,
// and edit a Maildir the way a mail reader would.

import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImapFlow } from 'imapflow';

/** One message as both sides can express it: CRLF bytes and Maildir flag letters. */
export interface SyncedMessage {
  /** The message with CRLF line ends (what IMAP carries). */
  body: Buffer;
  /** Maildir info letters, sorted: D(raft) F(lagged) R(eplied) S(een) T(rashed). */
  flags: string;
}

/** Folder name ("INBOX", "Work/Projects") -> its messages, sorted. */
export type AccountSnapshot = Map<string, SyncedMessage[]>;

const FLAG_LETTERS: Record<string, string> = {
  '\\Draft': 'D',
  '\\Flagged': 'F',
  '\\Answered': 'R',
  '\\Seen': 'S',
  '\\Deleted': 'T',
};

export function letters(flags: Iterable<string>): string {
  return [...flags]
    .map((f) => FLAG_LETTERS[f] ?? '')
    .join('')
    .split('')
    .sort()
    .join('');
}

const CR = 0x0d;
const LF = 0x0a;

/** Bare LF -> CRLF, byte by byte (8-bit data untouched). */
export function lfToCrlf(buf: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === LF && (i === 0 || buf[i - 1] !== CR)) out.push(CR);
    out.push(b);
  }
  return Buffer.from(out);
}

/** CRLF -> LF, byte by byte: what Unix Maildir clients store. */
export function crlfToLf(buf: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i]!;
    if (b === CR && buf[i + 1] === LF) continue;
    out.push(b);
  }
  return Buffer.from(out);
}

function sortMessages(list: SyncedMessage[]): SyncedMessage[] {
  return list.sort((a, b) => Buffer.compare(a.body, b.body) || a.flags.localeCompare(b.flags));
}

/** The letters after ":2," in a Maildir file name ("" when there is no info part). */
export function maildirFlags(fileName: string): string {
  const i = fileName.lastIndexOf(':2,');
  return i < 0 ? '' : fileName.slice(i + 3).replace(/[^A-Z]/g, '').split('').sort().join('');
}

/** A Maildir++-less tree: every directory holding cur/new/tmp is a folder named by its path below root. */
export async function readMaildirTree(root: string): Promise<Map<string, Array<{ file: string; bytes: Buffer; flags: string }>>> {
  const folders = new Map<string, Array<{ file: string; bytes: Buffer; flags: string }>>();
  async function walk(dir: string, name: string): Promise<void> {
    const entries = await readdir(dir, { withFileTypes: true });
    const sub = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
    if (name && sub.has('cur') && sub.has('new') && sub.has('tmp')) {
      const messages: Array<{ file: string; bytes: Buffer; flags: string }> = [];
      for (const part of ['new', 'cur']) {
        for (const f of await readdir(join(dir, part))) {
          if (f.startsWith('.')) continue;
          const file = join(dir, part, f);
          messages.push({ file, bytes: await readFile(file), flags: maildirFlags(f) });
        }
      }
      folders.set(name, messages);
    }
    for (const d of sub) {
      if (d.startsWith('.') || (name && (d === 'cur' || d === 'new' || d === 'tmp'))) continue;
      await walk(join(dir, d), name ? `${name}/${d}` : d);
    }
  }
  await walk(root, '');
  return folders;
}

/**
 * mbsync inserts one "X-TUID: <12 chars>" line at the end of the header of
 * every message it stores or uploads (its transaction id, to recognise the
 * message if a run is interrupted). Returns the bytes without that line (LF or
 * CRLF line ends), or null when it is absent.
 */
export function withoutTuid(bytes: Buffer): Buffer | null {
  const crlf = bytes.indexOf('\r\n') >= 0;
  const eol = crlf ? '\r\n' : '\n';
  const headerEnd = bytes.indexOf(eol + eol);
  const start = bytes.indexOf(`${eol}X-TUID: `);
  if (start < 0 || (headerEnd >= 0 && start > headerEnd)) return null;
  const lineStart = start + eol.length;
  const end = bytes.indexOf(eol, lineStart);
  if (end - lineStart !== 'X-TUID: '.length + 12) return null;
  return Buffer.concat([bytes.subarray(0, start), bytes.subarray(end)]);
}

/** The Maildir tree as an account; `normalize` undoes a client's own additions to the files it stores. */
export async function localSnapshot(root: string, normalize: (bytes: Buffer) => Buffer = (b) => b): Promise<AccountSnapshot> {
  const snap: AccountSnapshot = new Map();
  for (const [name, messages] of await readMaildirTree(root)) {
    snap.set(name, sortMessages(messages.map((m) => ({ body: lfToCrlf(normalize(m.bytes)), flags: m.flags }))));
  }
  return snap;
}

/** Every selectable mailbox of the logged-in user, with full message bytes and flags. */
export async function serverSnapshot(client: ImapFlow, normalize: (bytes: Buffer) => Buffer = (b) => b): Promise<AccountSnapshot> {
  const snap: AccountSnapshot = new Map();
  for (const box of await client.list()) {
    if (box.flags.has('\\Noselect') || box.flags.has('\\NonExistent')) continue;
    const lock = await client.getMailboxLock(box.path, { readOnly: true });
    try {
      const messages: SyncedMessage[] = [];
      const mailbox = client.mailbox;
      if (mailbox && mailbox.exists > 0) {
        for (const m of await client.fetchAll('1:*', { source: true, flags: true })) {
          assert.ok(m.source, `source of ${box.path} #${m.seq}`);
          messages.push({ body: normalize(m.source), flags: letters(m.flags ?? []) });
        }
      }
      snap.set(box.path, sortMessages(messages));
    } finally {
      lock.release();
    }
  }
  return snap;
}

/** Readable form for assertion diffs: folder -> ["FLAGS <first 60 bytes>"]. */
export function describeSnapshot(snap: AccountSnapshot): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of [...snap.keys()].sort()) {
    out[name] = snap.get(name)!.map((m) => `${m.flags || '-'} ${m.body.length}B ${JSON.stringify(m.body.subarray(0, 60).toString('utf8'))}`);
  }
  return out;
}

/** Both sides hold exactly the same folders, messages (byte for byte) and flags. */
export function assertSameAccount(server: AccountSnapshot, local: AccountSnapshot, context: () => string): void {
  const message = () => `server and Maildir differ\n${context()}`;
  assert.deepEqual([...local.keys()].sort(), [...server.keys()].sort(), message());
  for (const [name, messages] of server) {
    const mine = local.get(name)!;
    assert.deepEqual(describeSnapshot(new Map([[name, mine]])), describeSnapshot(new Map([[name, messages]])), message());
    for (let i = 0; i < messages.length; i++) {
      assert.ok(messages[i]!.body.equals(mine[i]!.body), `${name}: message ${i} bytes differ\n${context()}`);
    }
  }
}

/** Sets the Maildir flags of a message file the way a mail reader does (moves it to cur/). */
export async function setMaildirFlags(file: string, flags: string): Promise<string> {
  const dir = join(file, '..', '..');
  const base = file.slice(file.lastIndexOf('/') + 1);
  const i = base.lastIndexOf(':2,');
  const unique = i < 0 ? base : base.slice(0, i);
  const target = join(dir, 'cur', `${unique}:2,${flags.split('').sort().join('')}`);
  await rename(file, target);
  return target;
}

export async function deleteMaildirMessage(file: string): Promise<void> {
  await unlink(file);
}

/** Delivers a message into a Maildir folder (creating it), as a local mail program would. */
export async function writeMaildirMessage(root: string, folder: string, uniqueName: string, bytes: Buffer): Promise<void> {
  const dir = join(root, ...folder.split('/'));
  for (const part of ['cur', 'new', 'tmp']) await mkdir(join(dir, part), { recursive: true });
  await writeFile(join(dir, 'tmp', uniqueName), bytes);
  await rename(join(dir, 'tmp', uniqueName), join(dir, 'new', uniqueName));
}
