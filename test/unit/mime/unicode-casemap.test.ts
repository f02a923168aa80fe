// i;unicode-casemap (RFC 5051 section 2): each character to its simple
// titlecase (UnicodeData.txt), then to its recursive decomposition of any
// type. Expected values are the UTF-8 octets, worked out from the RFC's steps
// and the UnicodeData.txt entries named in each case.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { unicodeCasemap } from '../../../src/mime/unicode-casemap.js';
import { foldText, headerSearchText, headerTextHas, searchFieldName } from '../../../src/mail/search.js';

const hex = (s: string): string => Buffer.from(unicodeCasemap(s), 'utf8').toString('hex');

describe('i;unicode-casemap', () => {
  test('the RFC 5051 example: U+01C4 becomes U+0044 U+007A U+030C (the z stays small)', () => {
    for (const s of ['\u01c4', '\u01c5', '\u01c6']) assert.equal(hex(s), '447acc8c', s);
  });

  test('ASCII letters to upper case, nothing else changes', () => {
    assert.equal(hex('Hello, World 42!'), Buffer.from('HELLO, WORLD 42!').toString('hex'));
    assert.equal(unicodeCasemap(''), '');
  });

  test('sharp s has no simple titlecase: ß stays, and never matches SS', () => {
    assert.equal(hex('Straße'), '53545241c39f45');
    assert.equal(hex('STRASSE'), '53545241535345');
    assert.ok(!unicodeCasemap('Straße').includes(unicodeCasemap('ss')));
    // U+1E9E (capital sharp s) is upper case already and does not decompose: not ß.
    assert.equal(hex('\u1e9e'), 'e1ba9e');
  });

  test('ligatures decompose, but what they decompose to is not titlecased again', () => {
    assert.equal(hex('\ufb01'), '6669'); // ﬁ -> "fi"
    assert.equal(hex('fi'), '4649'); // "FI": so ﬁ and fi differ
    assert.equal(hex('\ufb00'), '6666'); // ﬀ
    assert.equal(hex('\u0149'), 'cabc6e'); // ŉ -> U+02BC n
  });

  test('Turkish i: dotless ı titlecases to I; İ decomposes to I + U+0307', () => {
    assert.equal(hex('\u0131'), '49');
    assert.equal(hex('i'), '49');
    assert.equal(hex('\u0130'), '49cc87');
    assert.equal(hex('i\u0307'), '49cc87');
    assert.ok(!unicodeCasemap('\u0130stanbul').includes(unicodeCasemap('istanbul')));
    assert.equal(unicodeCasemap('\u0131stanbul'), unicodeCasemap('ISTANBUL'));
  });

  test('accents: precomposed and combining forms fold alike', () => {
    for (const s of ['\u00e9', 'e\u0301', '\u00c9', 'E\u0301']) assert.equal(hex(s), '45cc81', s);
    // No canonical reordering across characters (RFC 5051 has no such step).
    assert.equal(hex('a\u0307\u0323'), '41cc87cca3');
    assert.equal(hex('a\u0323\u0307'), '41cca3cc87');
  });

  test('compatibility forms: full width, circled digits, fractions, Kelvin and Ohm signs', () => {
    assert.equal(hex('\uff26\uff4f\uff4f'), '464f4f'); // Ｆｏｏ
    assert.equal(hex('\u2460'), '31'); // ①
    assert.equal(hex('\u00bd'), '31e2818432'); // ½ -> 1 U+2044 2
    assert.equal(hex('\u212a'), '4b'); // Kelvin sign -> K
    assert.equal(hex('\u2126'), 'cea9'); // Ohm sign -> Ω
  });

  test('Greek: all sigmas alike; iota subscript forms take their simple titlecase', () => {
    assert.equal(hex('\u03a3\u03c3\u03c2'), 'cea3cea3cea3');
    assert.equal(hex('\u1fb3'), 'ce91cd85'); // ᾳ -> U+1FBC -> Α U+0345
    assert.equal(hex('\u1fbc'), 'ce91cd85');
    assert.equal(hex('\u1f80'), 'ce91cc93cd85'); // ᾀ -> U+1F88 -> Α U+0313 U+0345
    assert.equal(hex('\u0390'), 'ceb9cc88cc81'); // ΐ: no simple titlecase
  });

  test('Georgian Mkhedruli is its own titlecase; Hangul syllables decompose to jamo', () => {
    assert.equal(hex('\u10d0'), 'e18390');
    assert.equal(hex('\u1c90'), 'e1b290');
    assert.equal(hex('\ud55c'), 'e18492e185a1e186ab'); // 한
  });

  test('characters outside the BMP', () => {
    assert.equal(hex('\u{10428}'), 'f0909080'); // Deseret small long i -> capital U+10400
    assert.equal(hex('\u{1d400}'), '41'); // mathematical bold A -> A
  });
});

describe('i;unicode-casemap on runs of text', () => {
  // The fold works on runs at once where that is safe (see unicode-casemap.ts);
  // the RFC defines it character by character.
  const perCharacter = (s: string): string => [...s].map(unicodeCasemap).join('');
  const tricky = [...'ßﬁǄǅǆᾳᾀİıéÉ\u0301\u0323\u0307\u0345\u0334\uff9e\u309b한\u1161ა\u0344\u0f73①½ΣςKaA z\u05b0\u0591😀'];
  const character = fc.oneof(
    fc.constantFrom(...tricky),
    fc.integer({ min: 0x80, max: 0x3000 }).map((cp) => String.fromCodePoint(cp)),
    fc.integer({ min: 0, max: 0x10ffff }).map((cp) => String.fromCodePoint(cp)),
  );

  test('property: the same as folding each character on its own', () => {
    fc.assert(
      fc.property(fc.array(character, { maxLength: 12 }), (chars) => {
        const s = chars.join('');
        assert.equal(unicodeCasemap(s), perCharacter(s));
      }),
      { numRuns: 20_000, seed: 5051 },
    );
  });

  test('all-ASCII strings (which skip normalize()) fold as toUpperCase then NFKD', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 40 }), (s) => {
        assert.equal(unicodeCasemap(s), s.toUpperCase().normalize('NFKD'));
        assert.equal(unicodeCasemap(s), perCharacter(s));
      }),
      { numRuns: 5000, seed: 5255 },
    );
  });

  test('property: long ASCII runs between other characters (folded apart) change nothing', () => {
    const asciiRun = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), minLength: 0, maxLength: 150 });
    fc.assert(
      fc.property(fc.array(fc.oneof(character, asciiRun), { maxLength: 16 }), (pieces) => {
        const s = pieces.join('');
        assert.equal(unicodeCasemap(s), perCharacter(s));
      }),
      { numRuns: 5000, seed: 2026 },
    );
    // A mark after a long ASCII run, and a split right before a mark.
    for (const s of ['x'.repeat(70) + '\u0301é', 'é' + 'a'.repeat(64) + '\u0323\u0307', 'ß' + 'b'.repeat(63) + 'ﬁ' + 'c'.repeat(200)]) {
      assert.equal(unicodeCasemap(s), perCharacter(s));
    }
  });

  test('a mark is not reordered with the marks of the character before it', () => {
    // U+00E9 folds to E U+0301 (class 230); U+FF9E to U+3099 (class 8): NFKD of the whole would swap them.
    assert.equal(hex('\u00e9\uff9e'), '45cc81e38299');
    assert.equal(hex('e\u0301\u0323'), '45cc81cca3');
  });
});

describe('SEARCH folding', () => {
  test('query strings and stored text fold with the same comparator', () => {
    assert.equal(foldText('Straße Ǆ'), unicodeCasemap('Straße Ǆ'));
    const text = headerSearchText([{ name: 'Subject', value: 'Ｒé: ﬁle\r\n naïve' }]);
    assert.equal(text, `\nSUBJECT:RE\u0301: fiLE  NAI\u0308VE\n`);
    const subject = searchFieldName('subject');
    assert.equal(subject, 'SUBJECT');
    assert.ok(headerTextHas(text, subject, foldText('re\u0301')));
    assert.ok(headerTextHas(text, subject, foldText('NAÏVE')));
    assert.ok(!headerTextHas(text, subject, foldText('file')));
    assert.ok(headerTextHas(text, subject, foldText('\ufb01le')));
    assert.ok(text.includes(foldText('subject:re')), 'TEXT matches across a field name and its value');
  });
});
