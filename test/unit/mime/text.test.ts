// makePreview against the formulation it replaced (regular expression,
// trim, Array.from), on random text built from the characters where the two
// could differ: every kind of whitespace and control character, surrogate
// pairs and lone surrogates, around the 200-character cut and the
// 4096-code-unit scan limit.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPreviewSpace, makePreview, PREVIEW_LENGTH } from '../../../src/mime/text.js';

// eslint-disable-next-line no-control-regex
const COLLAPSED = /[\s\u0000-\u001f\u007f]/;

function referencePreview(text: string): string {
  const head = text.length > 4096 ? text.slice(0, 4096) : text;
  // eslint-disable-next-line no-control-regex
  const normalised = head.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  const chars = Array.from(normalised);
  return chars.length > PREVIEW_LENGTH ? chars.slice(0, PREVIEW_LENGTH).join('').trimEnd() : normalised;
}

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('a', 'word', 'é', 'Ωmega', '\u{1F600}', '\ud83d', '\ude00', '\u0085', '\u200b', '.') },
  { weight: 4, arbitrary: fc.constantFrom(' ', '  ', '\t', '\r\n', '\n\n', '\u0000', '\u001f', '\u007f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff', '\u000b', '\u000c') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

describe('makePreview', () => {
  test('isPreviewSpace is the regular expression on every UTF-16 code unit', () => {
    for (let c = 0; c < 0x10000; c++) {
      assert.equal(isPreviewSpace(c), COLLAPSED.test(String.fromCharCode(c)), `U+${c.toString(16)}`);
    }
  });

  test('same as the regular-expression formulation on random text', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 400 }), (pieces) => {
        const text = pieces.join('');
        assert.equal(makePreview(text), referencePreview(text));
      }),
      { numRuns: 3000 },
    );
  });

  test('same at the cut: 199-201 characters, with whitespace and pairs at the end', () => {
    for (const n of [198, 199, 200, 201, 202]) {
      for (const tail of ['', ' ', ' x', '  \u{1F600}', '\u{1F600}', '\ud83d', ' \ud83d', '\n\n', '\u3000y']) {
        for (const unit of ['a', '\u{1F600}', 'a ']) {
          const text = '  ' + unit.repeat(n) + tail + ' z';
          assert.equal(makePreview(text), referencePreview(text), JSON.stringify({ n, tail, unit }));
          const cut = unit.repeat(n) + tail;
          assert.equal(makePreview(cut), referencePreview(cut), JSON.stringify({ n, tail, unit, cut: true }));
        }
      }
    }
  });

  test('same at the 4096-code-unit scan limit (a pair cut in two, whitespace only after it)', () => {
    for (let before = 4090; before <= 4098; before++) {
      for (const fill of [' ', '\n', 'x', 'x ']) {
        const text = fill.repeat(before).slice(0, before) + '\u{1F600}' + ' tail text';
        assert.equal(makePreview(text), referencePreview(text), JSON.stringify({ before, fill }));
      }
    }
    const spaces = ' '.repeat(5000) + 'late';
    assert.equal(makePreview(spaces), '');
    assert.equal(makePreview(spaces), referencePreview(spaces));
  });

  test('examples', () => {
    assert.equal(makePreview(''), '');
    assert.equal(makePreview(' \r\n Hi Bob,\r\n\r\nLunch\ttomorrow? \r\n'), 'Hi Bob, Lunch tomorrow?');
    assert.equal(makePreview('x'.repeat(300)), 'x'.repeat(200));
    assert.equal(makePreview('x'.repeat(199) + ' yz'), 'x'.repeat(199));
  });
});
