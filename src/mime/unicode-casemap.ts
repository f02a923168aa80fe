// The i;unicode-casemap comparator (RFC 5051 section 2), which RFC 5255
// I18NLEVEL=1 makes the comparator of SEARCH, SORT and THREAD. Each character
// is mapped on its own:
//   (a) to its simple titlecase mapping (UnicodeData.txt), if it has one;
//   (b) the result to its full decomposition of any type (canonical or
//       compatibility), applied recursively.
// The titlecase step is not applied again to what (b) yields (the RFC's own
// example: U+01C4 becomes U+0044 U+007A U+030C, with a small z), so the fold
// is not idempotent ("ﬁ" gives "fi", which would give "FI"): always fold
// from the original text. Marks are not reordered across characters (there
// is no such step), so this is not NFKD of the whole string. Strings compare
// as the UTF-8 octets of the result; SEARCH is a substring test on it.
//
// JavaScript has no titlecase and no per-property data, so (a) is the single
// code point toUpperCase() gives (a multi-character result is a full mapping
// of SpecialCasing.txt, not in UnicodeData.txt: the character stays, as "ß"
// does), corrected where the simple titlecase differs from that; (b) is
// normalize('NFKD') of the one code point, which for a single code point is
// its recursive decomposition. Both were compared, when this was written,
// with the UnicodeData.txt fields (Unicode 14, through Python's unicodedata)
// for every assigned code point: no difference but characters that Unicode
// 16 newly cased. Hangul syllables, whose
// canonical decomposition Unicode defines algorithmically rather than listing
// in UnicodeData.txt, are decomposed too, as "effectively Normalization Form
// KD" in RFC 5051 intends.

/** Simple titlecase mappings that toUpperCase() does not give. */
const TITLECASE: ReadonlyMap<number, number> = new Map([
  // Latin digraphs: the titlecase is the mixed-case form.
  [0x1c4, 0x1c5], [0x1c5, 0x1c5], [0x1c6, 0x1c5],
  [0x1c7, 0x1c8], [0x1c8, 0x1c8], [0x1c9, 0x1c8],
  [0x1ca, 0x1cb], [0x1cb, 0x1cb], [0x1cc, 0x1cb],
  [0x1f1, 0x1f2], [0x1f2, 0x1f2], [0x1f3, 0x1f2],
  // Greek with ypogegrammeni: the full uppercase is two characters, the simple titlecase the prosgegrammeni form.
  ...greekIotaSubscript(),
]);

function* greekIotaSubscript(): Generator<[number, number]> {
  for (const base of [0x1f80, 0x1f90, 0x1fa0]) for (let i = 0; i < 8; i++) yield [base + i, base + 8 + i];
  yield [0x1fb3, 0x1fbc];
  yield [0x1fc3, 0x1fcc];
  yield [0x1ff3, 0x1ffc];
}

/** Georgian Mkhedruli letters have an uppercase (Mtavruli) but are their own titlecase. */
function isOwnTitlecase(cp: number): boolean {
  return (cp >= 0x10d0 && cp <= 0x10fa) || (cp >= 0x10fd && cp <= 0x10ff);
}

function titlecase(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const mapped = TITLECASE.get(cp);
  if (mapped !== undefined) return String.fromCodePoint(mapped);
  if (isOwnTitlecase(cp)) return ch;
  const upper = ch.toUpperCase();
  return [...upper].length === 1 ? upper : ch;
}

// Folded characters that need the per-character path; bounded, since text may hold any of a million code points.
const cache = new Map<string, string>();
const CACHE_LIMIT = 65_536;

function foldChar(ch: string): string {
  let folded = cache.get(ch);
  if (folded === undefined) {
    folded = titlecase(ch).normalize('NFKD');
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(ch, folded);
  }
  return folded;
}

// Folding character by character is slow in JavaScript, so a run of "plain"
// characters is folded at once, natively, as toUpperCase() then NFKD. That
// gives the same as the per-character steps when, for every character, (1)
// its fold is the NFKD of its toUpperCase() (not "ß", whose uppercase is
// "SS", nor the TITLECASE and Georgian exceptions) and (2) its fold does not
// begin with a combining mark (ccc > 0), since NFKD of the run would reorder
// such a mark with the marks of the previous character, which the RFC does
// not do. Each code point's kind is worked out once, on first sight.
const PLAIN = 1;
const SPECIAL = 2;
const kinds = new Uint8Array(0x110000);

function learnKind(cp: number): number {
  const ch = String.fromCodePoint(cp);
  const folded = foldChar(ch);
  const kind = folded === foldPlain(ch) && !startsWithMark(folded) ? PLAIN : SPECIAL;
  kinds[cp] = kind;
  return kind;
}

/**
 * Does `s` begin with a character of non-zero canonical combining class?
 * NFD moves such a character in front of a preceding U+0345 (class 240, the
 * highest) unless its class is 240, and behind a following U+0334 (class 1,
 * the lowest) unless its class is 1; it moves a starter in neither.
 */
function startsWithMark(s: string): boolean {
  const first = String.fromCodePoint(s.codePointAt(0) ?? 0x20);
  return ('\u0345' + first).normalize('NFD') !== '\u0345' + first || (first + '\u0334').normalize('NFD') !== first + '\u0334';
}

function foldPlain(run: string): string {
  return run.toUpperCase().normalize('NFKD');
}

/** Finds the next non-ASCII code unit (lastIndex set by the caller): faster than a loop in JavaScript. */
const NON_ASCII = /[^\u0000-\u007f]/g;
/** ASCII after a non-ASCII character looked at directly before NON_ASCII is run. */
const NEAR = 8;
/** ASCII between non-ASCII characters this long or longer is only upper-cased, on its own. */
const MIN_ASCII_SPLIT = 64;

/**
 * The "titlecased canonicalized" form of `s` (RFC 5051 section 2), as a string.
 *
 * Long ASCII stretches are only upper-cased; the rest goes through foldPlain
 * in runs (special characters on their own). Splitting at ASCII changes
 * nothing: the fold is per character (see the property test), and an ASCII
 * character neither decomposes nor has a combining class, so NFKD never
 * moves anything across it. Mail text is mostly ASCII with a few accented
 * words, and NFKD over all of it (and toUpperCase, once the string holds a
 * character above U+00FF) was the costly part of indexing it. Short ASCII
 * stretches stay in their run: one native call for all is cheaper there.
 */
export function unicodeCasemap(s: string): string {
  const n = s.length;
  NON_ASCII.lastIndex = 0;
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  let i = NON_ASCII.lastIndex - 1;
  let out = '';
  // Start of the run not yet folded into `out`.
  let plainFrom = 0;
  if (i >= MIN_ASCII_SPLIT) {
    out = s.slice(0, i).toUpperCase();
    plainFrom = i;
  }
  for (;;) {
    // s[i] is not ASCII.
    const cp = s.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if ((kinds[cp] || learnKind(cp)) === SPECIAL) {
      if (i > plainFrom) out += foldPlain(s.slice(plainFrom, i));
      out += foldChar(s.slice(i, i + width));
      plainFrom = i + width;
    }
    i += width;
    if (i < n && s.charCodeAt(i) >= 0x80) continue;
    let next = i;
    const near = Math.min(n, i + NEAR);
    while (next < near && s.charCodeAt(next) < 0x80) next++;
    if (next === near && next < n) {
      NON_ASCII.lastIndex = next;
      next = NON_ASCII.test(s) ? NON_ASCII.lastIndex - 1 : n;
    }
    if (next - i >= MIN_ASCII_SPLIT) {
      if (i > plainFrom) out += foldPlain(s.slice(plainFrom, i));
      out += s.slice(i, next).toUpperCase();
      plainFrom = next;
    }
    if (next >= n) break;
    i = next;
  }
  return plainFrom < n ? out + foldPlain(s.slice(plainFrom)) : out;
}
