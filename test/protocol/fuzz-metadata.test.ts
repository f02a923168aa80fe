// Property and fuzz tests of the METADATA parsers (GETMETADATA, SETMETADATA)
// and of the METADATA response (fast-check, fixed seed):
// - generated commands parse to exactly the AST they were built from;
// - the METADATA response's entry-values, sent back as a SETMETADATA, parse
//   to the same entries and values (quoted, literal and literal8 choices);
// - mutated commands and random bytes never throw or hang, and whatever
//   parses only holds valid entry names;
// - the entry-name check agrees with an independent reading of RFC 5464 3.2.
import { commandMutation, mutate } from './command-mutations.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Command } from '../../src/protocol/imap/ast.js';
import { entryNameProblem } from '../../src/protocol/imap/parser/metadata-entry.js';
import type { ParseResult } from '../../src/protocol/imap/parser/index.js';
import { parseAll } from './parse-all.js';
import { serializeResponse, wireToBuffer } from '../../src/protocol/imap/serializer.js';

const SEED = 5464;

function parseOne(data: Buffer): ParseResult {
  const results = parseAll(data);
  assert.equal(results.length, 1, `one command in ${JSON.stringify(data.toString('latin1'))}`);
  return results[0]!;
}

// ---- generators ----

const componentChar = fc.constantFrom(...'abcXYZ019-._~!#$&\'+=?@^`|'.split(''), ' ', '"', '\\', '(', ')', '{', ']');
const component = fc.string({ unit: componentChar, minLength: 1, maxLength: 8 });
const scope = fc.constantFrom('/private', '/shared', '/PRIVATE', '/Shared');
/** Valid for SETMETADATA: a scope and 1-4 components, not starting with "vendor". */
const entryName = fc
  .tuple(scope, fc.array(component.filter((c) => c.toLowerCase() !== 'vendor'), { minLength: 1, maxLength: 4 }))
  .map(([s, parts]) => `${s}/${parts.join('/')}`);
const value = fc.oneof(
  fc.constant(null),
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }).map((s) => Buffer.from(s, 'latin1')),
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
);

/** An astring as a client may send it: atom when possible, else quoted, else a literal. */
function astring(s: string, form: number): string {
  if (/^[!#$&'+-[^-z|~]+$/.test(s) && form % 3 === 0) return s;
  if (!/["\\]/.test(s) && form % 3 === 1) return `"${s}"`;
  return `{${Buffer.byteLength(s, 'latin1')}+}\r\n${s}`;
}

/** A value as a client may send it: NIL, quoted, literal, or literal8 (required for NUL). */
function valueWire(v: Buffer | null, form: number): Buffer {
  if (v === null) return Buffer.from(form % 2 === 0 ? 'NIL' : 'nil');
  const quotable = !v.some((b) => b === 0 || b === 0x0d || b === 0x0a || b >= 0x80);
  if (quotable && form % 3 === 0) {
    const escaped = Buffer.from(v.toString('latin1').replace(/(["\\])/g, '\\$1'), 'latin1');
    return Buffer.concat([Buffer.from('"'), escaped, Buffer.from('"')]);
  }
  const binary = v.includes(0) || form % 3 === 2;
  return Buffer.concat([Buffer.from(`${binary ? '~' : ''}{${v.length}+}\r\n`), v]);
}

// ---- an independent reading of RFC 5464 3.2 (for comparison) ----

function validEntry(name: string, forSet: boolean): boolean {
  if (!/^(\/[\x20-\x7e]+)+$/.test(name) || /[*%]/.test(name) || name.includes('//') || name.endsWith('/')) return false;
  const parts = name.toLowerCase().split('/').slice(1);
  if (parts[0] !== 'private' && parts[0] !== 'shared') return false;
  if (!forSet) return true;
  if (parts.length < 2) return false;
  return parts[1] !== 'vendor' || parts.length >= 4;
}

describe('METADATA parsers fuzz', () => {
  test('SETMETADATA: generated commands parse to the entries and values they were built from', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(entryName, value, fc.nat(), fc.nat()), { minLength: 1, maxLength: 6 }),
        fc.constantFrom('INBOX', '""', '"Work/Notes"', '{3+}\r\nabc'),
        (entries, mailbox) => {
          const parts: Buffer[] = [Buffer.from(`t1 SETMETADATA ${mailbox} (`)];
          entries.forEach(([name, v, nameForm, valueForm], i) => {
            if (i > 0) parts.push(Buffer.from(' '));
            parts.push(Buffer.from(astring(name, nameForm) + ' ', 'latin1'), valueWire(v, valueForm));
          });
          parts.push(Buffer.from(')\r\n'));
          const r = parseOne(Buffer.concat(parts));
          const expectedMailbox = mailbox === '""' ? '' : mailbox === '"Work/Notes"' ? 'Work/Notes' : mailbox.startsWith('{') ? 'abc' : mailbox;
          const expected: Command = { name: 'SETMETADATA', mailbox: expectedMailbox, entries: entries.map(([entry, v]) => ({ entry, value: v })) };
          assert.deepEqual(r, { ok: true, tag: 't1', command: expected });
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test('GETMETADATA: options before or after the mailbox, any case, one entry or a list', () => {
    const depth = fc.constantFrom<[string, 0 | 1 | 'infinity']>(['0', 0], ['1', 1], ['infinity', 'infinity'], ['INFINITY', 'infinity']);
    fc.assert(
      fc.property(
        fc.option(fc.nat({ max: 0xffffffff })),
        fc.option(depth),
        fc.boolean(),
        fc.boolean(),
        fc.array(fc.tuple(entryName, fc.nat()), { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (maxSize, d, optionsFirst, depthFirst, entries, asList) => {
          const opts: string[] = [];
          if (maxSize !== null) opts.push(`maxsize ${maxSize}`);
          if (d !== null) opts[depthFirst ? 'unshift' : 'push'](`DEPTH ${d[0]}`);
          const optionText = opts.length > 0 ? `(${opts.join(' ')}) ` : '';
          const list = asList || entries.length > 1;
          const entryText = list ? `(${entries.map(([e, f]) => astring(e, f)).join(' ')})` : astring(entries[0]![0], entries[0]![1]);
          const line = optionsFirst ? `t2 GETMETADATA ${optionText}INBOX ${entryText}\r\n` : `t2 GETMETADATA INBOX ${optionText}${entryText}\r\n`;
          const r = parseOne(Buffer.from(line, 'latin1'));
          assert.deepEqual(r, {
            ok: true,
            tag: 't2',
            command: { name: 'GETMETADATA', mailbox: 'INBOX', maxSize: maxSize ?? null, depth: d?.[1] ?? 0, entries: entries.map(([e]) => e) },
          });
        },
      ),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test('the METADATA response re-parses (as SETMETADATA entry-values) to the same entries and values', () => {
    const canonicalName = entryName.map((n) => n.toLowerCase());
    fc.assert(
      fc.property(fc.array(fc.tuple(canonicalName, value), { minLength: 1, maxLength: 5 }), fc.boolean(), (entries, utf8) => {
        const out = wireToBuffer(
          serializeResponse({ kind: 'METADATA', mailbox: '', entries: entries.map(([name, v]) => ({ name, value: v })) }, { utf8, rev2: utf8 }),
        );
        assert.ok(out.subarray(0, 14).equals(Buffer.from('* METADATA "" ')));
        const asCommand = Buffer.concat([Buffer.from('t3 SETMETADATA "" '), out.subarray(14)]);
        const r = parseOne(asCommand);
        assert.deepEqual(r, { ok: true, tag: 't3', command: { name: 'SETMETADATA', mailbox: '', entries: entries.map(([entry, v]) => ({ entry, value: v })) } });
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test('entry-name check agrees with an independent reading of RFC 5464 3.2', () => {
    const nameChar = fc.constantFrom('/', '/', 'a', 'P', 'r', 'i', 'v', 'e', 't', 's', 'h', 'd', 'o', '*', '%', ' ', '\t', '\x7f', '\u00e9', 'x');
    const near = fc.tuple(fc.constantFrom('/private', '/shared', '/vendor', '', '/private/vendor', '/shared/vendor/v'), fc.string({ unit: nameChar, maxLength: 12 }));
    fc.assert(
      fc.property(near, fc.boolean(), ([prefix, rest], forSet) => {
        const name = prefix + rest;
        assert.equal(entryNameProblem(name, forSet) === null, validEntry(name, forSet), JSON.stringify(name));
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  const mutation = commandMutation(['{', '}', '{3}', '{9+}', '~{2+}', '\r\n', '"', '\\', '(', ')', ' ', '/', '//', '*', '%', 'NIL', 'DEPTH', '0'], {
    maxDelete: 5,
  });
  const seeds = [
    't4 GETMETADATA "" /shared/comment\r\n',
    't4 GETMETADATA "INBOX" (MAXSIZE 1024) (/shared/comment /private/comment)\r\n',
    't4 GETMETADATA (DEPTH infinity) INBOX (/private/filters/values)\r\n',
    't4 SETMETADATA INBOX (/private/comment {3+}\r\nabc /shared/comment NIL)\r\n',
    't4 SETMETADATA "" (/private/vendor/v/x ~{2+}\r\na\0)\r\n',
  ];

  test('mutated commands never throw or hang; whatever parses holds only valid entry names', () => {
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 5 }), (seed, mutations) => {
        const bytes = mutate(Buffer.from(seed, 'latin1'), mutations);
        for (const r of parseAll(Buffer.concat([bytes, Buffer.from('\r\n')]))) {
          if (!r.ok) {
            assert.ok(r.text.length > 0);
            continue;
          }
          if (r.command.name === 'GETMETADATA') for (const e of r.command.entries) assert.equal(entryNameProblem(e, false), null);
          if (r.command.name === 'SETMETADATA') for (const e of r.command.entries) assert.equal(entryNameProblem(e.entry, true), null);
        }
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  test('random bytes after GETMETADATA / SETMETADATA never throw', () => {
    fc.assert(
      fc.property(fc.constantFrom('t5 GETMETADATA ', 't5 SETMETADATA '), fc.uint8Array({ maxLength: 120 }), (head, tail) => {
        for (const r of parseAll(Buffer.concat([Buffer.from(head), Buffer.from(tail), Buffer.from('\r\n')]))) {
          if (!r.ok) assert.ok(r.text.length > 0);
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });
});
