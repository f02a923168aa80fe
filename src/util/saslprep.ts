// SASLprep (RFC 4013), the stringprep (RFC 3454) profile for user names and
// passwords; RFC 4314 3 prepares ACL identifiers with it. The steps, in order:
// map (non-ASCII spaces to SPACE, table C.1.2; "commonly mapped to nothing",
// table B.1, removed), normalize (NFKC), prohibit (tables C.1.2, C.2.1-C.9),
// check bidirectional text (RFC 3454 6) and, for stored strings, refuse
// unassigned code points (table A.1).
//
// The small tables are RFC 3454's own. Two big ones are taken from the
// Unicode data of the running JavaScript engine instead: A.1 (unassigned in
// Unicode 3.2) becomes "unassigned now" (\p{Cn}), which accepts characters
// assigned since 3.2; D.2 (bidi class L) becomes letters and spacing marks
// outside the right-to-left scripts. Both only matter for strings that mix
// scripts in ways no real identifier does.

export class SaslprepError extends Error {
  override readonly name = 'SaslprepError';
}

type Range = readonly [number, number];

const inRanges = (cp: number, ranges: readonly Range[]): boolean => ranges.some(([a, b]) => cp >= a && cp <= b);

/** C.1.2 Non-ASCII space characters (mapped to SPACE by SASLprep, RFC 4013 2.1). */
const NON_ASCII_SPACE: readonly Range[] = [
  [0x00a0, 0x00a0], [0x1680, 0x1680], [0x2000, 0x200b], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
];

/** B.1 Commonly mapped to nothing. */
const MAPPED_TO_NOTHING: readonly Range[] = [
  [0x00ad, 0x00ad], [0x034f, 0x034f], [0x1806, 0x1806], [0x180b, 0x180d], [0x200b, 0x200d], [0x2060, 0x2060],
  [0xfe00, 0xfe0f], [0xfeff, 0xfeff],
];

/** C.1.2, C.2.1, C.2.2, C.3, C.4, C.5, C.6, C.7, C.8, C.9 (RFC 4013 2.3). */
const PROHIBITED: readonly Range[] = [
  ...NON_ASCII_SPACE,
  // C.2.1 ASCII control characters
  [0x0000, 0x001f], [0x007f, 0x007f],
  // C.2.2 Non-ASCII control characters
  [0x0080, 0x009f], [0x06dd, 0x06dd], [0x070f, 0x070f], [0x180e, 0x180e], [0x200c, 0x200d], [0x2028, 0x2029],
  [0x2060, 0x2063], [0x206a, 0x206f], [0xfeff, 0xfeff], [0xfff9, 0xfffc], [0x1d173, 0x1d17a],
  // C.3 Private use
  [0xe000, 0xf8ff], [0xf0000, 0xffffd], [0x100000, 0x10fffd],
  // C.4 Non-character code points (U+nFFFE and U+nFFFF of every plane are added below)
  [0xfdd0, 0xfdef],
  // C.5 Surrogate codes
  [0xd800, 0xdfff],
  // C.6 Inappropriate for plain text
  [0xfff9, 0xfffd],
  // C.7 Inappropriate for canonical representation
  [0x2ff0, 0x2ffb],
  // C.8 Change display properties or are deprecated
  [0x0340, 0x0341], [0x200e, 0x200f], [0x202a, 0x202e], [0x206a, 0x206f],
  // C.9 Tagging characters
  [0xe0001, 0xe0001], [0xe0020, 0xe007f],
];

/** D.1 Characters with bidirectional property "R" or "AL". */
const RAND_AL_CAT: readonly Range[] = [
  [0x05be, 0x05be], [0x05c0, 0x05c0], [0x05c3, 0x05c3], [0x05d0, 0x05ea], [0x05f0, 0x05f4], [0x061b, 0x061b],
  [0x061f, 0x061f], [0x0621, 0x063a], [0x0640, 0x064a], [0x066d, 0x066f], [0x0671, 0x06d5], [0x06dd, 0x06dd],
  [0x06e5, 0x06e6], [0x06fa, 0x06fe], [0x0700, 0x070d], [0x0710, 0x0710], [0x0712, 0x072c], [0x0780, 0x07a5],
  [0x07b1, 0x07b1], [0x200f, 0x200f], [0xfb1d, 0xfb1d], [0xfb1f, 0xfb28], [0xfb2a, 0xfb36], [0xfb38, 0xfb3c],
  [0xfb3e, 0xfb3e], [0xfb40, 0xfb41], [0xfb43, 0xfb44], [0xfb46, 0xfbb1], [0xfbd3, 0xfd3d], [0xfd50, 0xfd8f],
  [0xfd92, 0xfdc7], [0xfdf0, 0xfdfc], [0xfe70, 0xfe74], [0xfe76, 0xfefc],
];

/** Approximates D.2 (bidi class "L"): see the file comment. */
const L_CAT = /[\p{L}\p{Mc}]/u;
const RTL_SCRIPT = /[\p{Script=Hebrew}\p{Script=Arabic}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}]/u;
const UNASSIGNED = /\p{Cn}/u;

const isNonCharacter = (cp: number): boolean => (cp & 0xfffe) === 0xfffe;
const isRandAL = (cp: number): boolean => inRanges(cp, RAND_AL_CAT);
const isL = (ch: string, cp: number): boolean => !isRandAL(cp) && L_CAT.test(ch) && !RTL_SCRIPT.test(ch);

/**
 * The prepared form of `input`. SaslprepError for a prohibited character, a
 * bidi violation or (unless `allowUnassigned`, for query strings) an
 * unassigned code point. An empty result is returned as is: callers that
 * refuse it (RFC 4314 3) say so themselves.
 */
export function saslprep(input: string, options: { allowUnassigned?: boolean } = {}): string {
  // 2.1 Mapping.
  let mapped = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0)!;
    if (inRanges(cp, NON_ASCII_SPACE)) mapped += ' ';
    else if (!inRanges(cp, MAPPED_TO_NOTHING)) mapped += ch;
  }
  // 2.2 Normalization.
  const out = mapped.normalize('NFKC');
  const chars = [...out];
  let randAL = false;
  let l = false;
  for (const ch of chars) {
    const cp = ch.codePointAt(0)!;
    // 2.3 Prohibited output (lone surrogates in the JavaScript string land in C.5).
    if (inRanges(cp, PROHIBITED) || isNonCharacter(cp)) {
      throw new SaslprepError(`prohibited character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
    }
    // 2.5 Unassigned code points.
    if (!options.allowUnassigned && UNASSIGNED.test(ch)) {
      throw new SaslprepError(`unassigned code point U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
    }
    if (isRandAL(cp)) randAL = true;
    else if (isL(ch, cp)) l = true;
  }
  // 2.4 Bidirectional characters (RFC 3454 6): RandALCat text holds no LCat and starts and ends with RandALCat.
  if (randAL) {
    if (l) throw new SaslprepError('mixes right-to-left and left-to-right characters');
    const first = chars[0]!.codePointAt(0)!;
    const last = chars[chars.length - 1]!.codePointAt(0)!;
    if (!isRandAL(first) || !isRandAL(last)) throw new SaslprepError('right-to-left text must start and end with a right-to-left character');
  }
  return out;
}
