// Property and fuzz tests of the protocol layer (fast-check, fixed seeds so
// runs are reproducible): framing is independent of chunking; random and
// mutated input never throws and always yields a command or a clear error;
// quoted/literal choice of the serializer round-trips through the parser;
// modified UTF-7 round-trips; the framer marks exactly the CATENATE URL
// literals (held in memory, not staged as message data).
import { commandMutation, mutate } from './command-mutations.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandFramer } from '../../src/protocol/imap/framer.js';
import type { FrameEvent, FramingLimits } from '../../src/protocol/imap/framing-types.js';
import { decodeMutf7, encodeMutf7 } from '../../src/protocol/imap/mutf7.js';
import { parseCommand } from '../../src/protocol/imap/parser/index.js';
import { serializeResponse, wireToBuffer } from '../../src/protocol/imap/serializer.js';

const LIMITS: FramingLimits = { maxLineLength: 200, maxMemoryLiteral: 100, maxNonSyncLiteral: 50, maxTagLength: 16 };
const SEED = 20240611;

const VALID = [
  'a1 NOOP\r\n',
  'a2 LOGIN {4}\r\nuser "pass"\r\n',
  'a3 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From To)]<0.10>) (CHANGEDSINCE 5 VANISHED)\r\n',
  'a4 SEARCH RETURN (MIN COUNT) CHARSET UTF-8 OR SEEN NOT FROM {3+}\r\nbob SINCE 1-Feb-1994\r\n',
  'a5 APPEND INBOX (\\Seen) " 7-Feb-1994 21:52:25 -0800" ~{5+}\r\nhe\0lo {3}\r\nabc\r\n',
  'a6 STORE 1:3 (UNCHANGEDSINCE 7) +FLAGS.SILENT (\\Deleted $Junk)\r\n',
  'a7 LIST (SUBSCRIBED) "" ("INBOX" %) RETURN (CHILDREN STATUS (MESSAGES))\n',
  'a8 SELECT INBOX (QRESYNC (1 2 1:5 (1:2 3:4)))\r\n',
  'a9 CREATE "Sent" (USE (\\Sent))\r\n',
  'b1 ID ("name" "x" "version" NIL)\r\n',
  'b2 AUTHENTICATE PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n',
  'b3 RENAME {1}\r\nx "y"\r\n',
  'b4 APPEND Drafts (\\Seen) CATENATE (URL "/INBOX;UIDVALIDITY=3/;UID=1/;SECTION=1.MIME" TEXT {3+}\r\nabc UTF8 (~{1+}\r\nz)) {1+}\r\nm\r\n',
  'b5 UID REPLACE 4 Drafts (\\Draft) CATENATE (URL ";UID=4/;PARTIAL=0.10")\r\n',
  'b6 APPEND Drafts CATENATE (TEXT {2+}\r\nhi URL {6+}\r\n;UID=4 url {6}\r\n;UID=5)\r\n',
];

/** Frames `chunks`, accepting literals in memory, and checks every command parses to a value or a clear error. */
function run(chunks: Buffer[], limits: FramingLimits = LIMITS): FrameEvent[] {
  const f = new CommandFramer(limits);
  const events: FrameEvent[] = [];
  for (const c of chunks) {
    f.push(c);
    let guard = 0;
    for (let ev = f.next(); ev; ev = f.next()) {
      if (++guard > 100_000) throw new Error('framer does not make progress');
      events.push(ev);
      if (ev.kind === 'literal') f.acceptLiteral('memory');
      if (ev.kind === 'command') {
        const r = parseCommand(ev.parts);
        if (!r.ok) assert.ok(r.text.length > 0, 'error text must not be empty');
        else assert.equal(typeof r.command.name, 'string');
      }
      if (ev.kind === 'error') assert.ok(ev.text.length > 0);
    }
    // Once drained, the framer holds at most one partial line.
    assert.ok(f.buffered <= limits.maxLineLength + 2, `buffered ${f.buffered}`);
  }
  return events;
}

/** Splits `data` at the given (sorted, deduplicated) cut points. */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

const commandStream = fc.array(fc.constantFrom(...VALID), { minLength: 1, maxLength: 8 }).map((cmds) => Buffer.from(cmds.join(''), 'latin1'));

describe('protocol fuzz', () => {
  test('(a) any chunking of a valid stream gives the same events as one chunk', () => {
    fc.assert(
      fc.property(commandStream, fc.array(fc.nat(), { maxLength: 40 }), (data, cuts) => {
        const whole = run([data]);
        assert.deepEqual(run(split(data, cuts)), whole);
        assert.equal(whole.filter((e) => e.kind === 'error').length, 0);
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  test('(a) every valid command parses', () => {
    const events = run([Buffer.from(VALID.join(''), 'latin1')]).filter((e) => e.kind === 'command');
    assert.equal(events.length, VALID.length);
    for (const e of events) assert.equal(parseCommand((e as Extract<FrameEvent, { kind: 'command' }>).parts).ok, true);
  });

  test('(b) random bytes never throw or hang', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
        run(chunks.map((c) => Buffer.from(c)));
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  const mutation = commandMutation(['{', '}', '{5}', '{99+}', '~{3}', '\r\n', '\n', '"', '\\', '(', ')', ' ', '[', '<', '*', '$', ':'], {
    maxDelete: 5,
    randomInserts: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  });

  test('(b) mutated valid commands never throw or hang, and give a command or a clear error', () => {
    fc.assert(
      fc.property(commandStream, fc.array(mutation, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (data, mutations, cuts) => {
        const bytes = mutate(Buffer.from(data), mutations);
        const whole = run([bytes]);
        assert.deepEqual(run(split(bytes, cuts)), whole);
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  test('(c) serializer strings re-parse as the same string (quoted or literal)', () => {
    const text = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.string({ unit: 'grapheme-ascii', minLength: 990, maxLength: 1100 }));
    fc.assert(
      fc.property(text.filter((s) => !s.includes('\0')), fc.boolean(), (s, utf8) => {
        // "* ID (string NIL)" is, after the tag, also a valid ID command.
        const out = wireToBuffer(serializeResponse({ kind: 'ID', params: [[s, null]] }, { utf8, rev2: utf8 }));
        const asCommand = Buffer.concat([Buffer.from('a'), out.subarray(1)]);
        const cmds = run([asCommand], { ...LIMITS, maxLineLength: 4096, maxMemoryLiteral: 4096 }).filter((e) => e.kind === 'command');
        assert.equal(cmds.length, 1);
        const r = parseCommand((cmds[0] as Extract<FrameEvent, { kind: 'command' }>).parts);
        assert.deepEqual(r, { ok: true, tag: 'a', command: { name: 'ID', params: [[s, null]] } });
      }),
      { seed: SEED, numRuns: 800 },
    );
  });

  test('(d) modified UTF-7 round-trips and its output is printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        const enc = encodeMutf7(s);
        assert.match(enc, /^[\x20-\x7e]*$/);
        assert.equal(decodeMutf7(enc), s);
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  test('(d) decodeMutf7 never throws on random ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('&', '-', 'A', 'P', 'w', ',', '+', '/', 'a', ' '), maxLength: 20 }), (s) => {
        const d = decodeMutf7(s);
        if (d !== null) assert.equal(encodeMutf7(d), s, 'anything accepted is canonical');
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  test('(e) CATENATE: exactly the URL literals are marked for memory, and every part parses back, in any chunking', () => {
    const url = fc.stringMatching(/^[;/A-Za-z0-9=.%]{1,20}$/);
    const part = fc.oneof(
      fc.record({ kind: fc.constant('TEXT' as const), data: fc.stringMatching(/^[a-z ]{0,10}$/), sync: fc.boolean() }),
      fc.record({ kind: fc.constant('URL' as const), url, literal: fc.boolean(), sync: fc.boolean(), lower: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(part, { minLength: 1, maxLength: 6 }), fc.constantFrom('APPEND Drafts', 'REPLACE 1 Drafts', 'UID REPLACE 7 Drafts'), fc.array(fc.nat(), { maxLength: 10 }), (parts, head, cuts) => {
        const lit = (data: string, sync: boolean): string => `{${data.length}${sync ? '' : '+'}}\r\n${data}`;
        const wire = parts.map((p) =>
          p.kind === 'TEXT' ? `TEXT ${lit(p.data, p.sync)}` : `${p.lower ? 'url' : 'URL'} ${p.literal ? lit(p.url, p.sync) : `"${p.url}"`}`,
        );
        const data = Buffer.from(`t ${head} CATENATE (${wire.join(' ')})\r\n`, 'latin1');
        const events = run(split(data, cuts), { ...LIMITS, maxLineLength: 400 });
        const marks = events.filter((e) => e.kind === 'literal').map((e) => (e as { catenateUrl?: true }).catenateUrl === true);
        assert.deepEqual(marks, parts.filter((p) => p.kind === 'TEXT' || p.literal).map((p) => p.kind === 'URL'));
        const command = events.find((e) => e.kind === 'command') as Extract<FrameEvent, { kind: 'command' }>;
        const r = parseCommand(command.parts);
        assert.ok(r.ok, r.ok ? '' : r.text);
        const message = 'message' in r.command ? r.command.message : (r.command as { messages: Array<{ catenate?: unknown }> }).messages[0]!;
        const urls = (message as { catenate: Array<{ kind: string; url?: string }> }).catenate.filter((c) => c.kind === 'URL').map((c) => c.url);
        assert.deepEqual(urls, parts.flatMap((p) => (p.kind === 'URL' ? [p.url] : [])));
      }),
      { seed: SEED, numRuns: 600 },
    );
  });
});
