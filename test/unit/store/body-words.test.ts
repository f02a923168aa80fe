// bodyWords (search-sql.ts) hashes the words as it scans and keeps its
// table between calls; it must give exactly what the plain version gives:
// the distinct separator-free runs in first-occurrence order, each once,
// between single spaces. (The SQL function's words: pg-body-words.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bodyWords } from '../../../src/store/shared/search-sql.js';

/** The plain version: every word sliced into a Set. */
function reference(bodyText: string): string {
  const words = new Set<string>();
  let start = -1;
  for (let i = 0; i <= bodyText.length; i++) {
    const c = i < bodyText.length ? bodyText.charCodeAt(i) : 32;
    if (c === 32 || (c >= 9 && c <= 13)) {
      if (start >= 0) words.add(bodyText.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  return words.size === 0 ? ' ' : ` ${[...words].join(' ')} `;
}

// The separators, characters next to them in value or meaning (NUL, \b, \x0e, NEL, no-break, line separator,
// ideographic space), letters, a surrogate pair and lone surrogates.
const UNITS = [' ', '\t', '\n', '\v', '\f', '\r', '\0', '\b', '\x0e', '\x1f', '!', '\u0085', '\u00a0', '\u2028', '\u3000'].concat(
  ['a', 'b', 'A', 'z', '\u00e9', '\u00df', '\u0130', '\u{1f600}', '\ud83d', '\ude00', '\uffff'],
);
const SEPARATOR_RUN = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\v', '\f', '\r'), minLength: 1, maxLength: 3 });
const WORD = fc.oneof(
  // A small vocabulary, so words repeat (and share prefixes).
  fc.constantFrom('a', 'ab', 'abc', 'ba', 'b\u00a0a', '\u{1f600}', '\ud83d', '\u{1f600}x', 'x\u{1f600}', '\u00e9t\u00e9'),
  fc.string({ unit: fc.constantFrom(...UNITS.filter((u) => !/^[ \t\n\v\f\r]$/.test(u))), minLength: 1, maxLength: 6 }),
);

test('bodyWords gives what the Set of slices gives, on strings rich in separators and repeated words', () => {
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...UNITS), maxLength: 200 }), (text) => {
      assert.equal(bodyWords(text), reference(text));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.array(fc.tuple(WORD, SEPARATOR_RUN), { maxLength: 80 }), fc.boolean(), (pairs, leading) => {
      const text = (leading ? '\r\n ' : '') + pairs.map(([w, s]) => w + s).join('');
      assert.equal(bodyWords(text), reference(text));
      // Without the last separator: the end of the text ends the last word.
      assert.equal(bodyWords(text.trimEnd()), reference(text.trimEnd()));
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    // Any code points; any UTF-16 code units (lone surrogates too).
    fc.property(fc.string({ unit: 'binary', maxLength: 100 }), fc.string({ unit: fc.nat(0xffff).map((c) => String.fromCharCode(c)), maxLength: 100 }), (a, b) => {
      assert.equal(bodyWords(a), reference(a));
      assert.equal(bodyWords(b), reference(b));
    }),
  );
});

test('bodyWords: many distinct words (its table grows past the size it keeps), then small texts again', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 1, max: 3 }), (distinct, times) => {
      const text = Array.from({ length: distinct * times }, (_, i) => `w${(i * 7919) % distinct}${i % 5 ? ' ' : '\r\n'}`).join('');
      assert.equal(bodyWords(text), reference(text));
      // The next call starts from an empty table, whatever the last one left in it.
      assert.equal(bodyWords('w1 w0 w1'), ' w1 w0 ');
      assert.equal(bodyWords(''), ' ');
    }),
    { numRuns: 40 },
  );
});

test('bodyWords: two different words with the same 32-bit hash are both kept', () => {
  // FNV-1a over UTF-16 code units, as bodyWords hashes. Two units ab and AB collide when (O ^ a) * P ^ b equals
  // (O ^ A) * P ^ B (the last product is one-to-one): a and A whose products share their upper 16 bits, then B.
  const [offset, prime] = [0x811c9dc5 | 0, 0x01000193];
  const fnv = (s: string) => {
    let h = offset;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), prime);
    return h;
  };
  const byUpper = new Map<number, number>();
  let a = 0x100;
  let other: number | undefined;
  for (; other === undefined; a++) {
    const upper = Math.imul(offset ^ a, prime) >>> 16;
    other = byUpper.get(upper);
    byUpper.set(upper, a);
  }
  a--;
  const b = 0x4e00;
  const otherB = b ^ ((Math.imul(offset ^ a, prime) ^ Math.imul(offset ^ other, prime)) & 0xffff);
  const [x, y] = [String.fromCharCode(a, b), String.fromCharCode(other, otherB)];
  assert.ok(x !== y && fnv(x) === fnv(y) && ![x, y].some((w) => /[ \t\n\v\f\r]/.test(w)), `${escape(x)} ${escape(y)}`);
  assert.equal(bodyWords(`${x} ${y} ${x} ${y}`), ` ${x} ${y} `);
  assert.equal(bodyWords(`${y}\t${x}\n${y}`), ` ${y} ${x} `);
  assert.equal(bodyWords(`${x} ${x}`), ` ${x} `);
  // A word and a longer one starting with it, of the same hash: w + c hashes to (h ^ c) * P, which is h when
  // c = h ^ h * P^-1, a code unit when h and h * P^-1 share their upper 16 bits.
  let inverse = prime;
  for (let i = 0; i < 5; i++) inverse = Math.imul(inverse, 2 - Math.imul(prime, inverse));
  let short = '';
  for (let u = 0x4e00; short === ''; u++) {
    const h = fnv(`z${String.fromCharCode(u)}`);
    const c = (h ^ Math.imul(h, inverse)) >>> 0;
    if (c <= 0xffff && !/[ \t\n\v\f\r]/.test(String.fromCharCode(c))) short = `z${String.fromCharCode(u)}`;
  }
  const h = fnv(short);
  const long = short + String.fromCharCode((h ^ Math.imul(h, inverse)) >>> 0);
  assert.equal(fnv(long), fnv(short), `${escape(short)} ${escape(long)}`);
  assert.equal(bodyWords(`${short} ${long} ${short}`), ` ${short} ${long} `);
  assert.equal(bodyWords(`${long} ${short} ${long}`), ` ${long} ${short} `);
});
