// Compact flag representation shared by the store backends: the five system
// flags as a bitmask plus a keyword list. Keywords keep the spelling they were
// first stored with and are deduplicated case-insensitively (as Dovecot and
// most IMAP servers do: "$Label1" and "$label1" are one keyword). \Recent is
// session state in IMAP4rev1 and gone from IMAP4rev2: it is never stored.

export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
export const SEEN = 1;
export const ANSWERED = 2;
export const FLAGGED = 4;
export const DELETED = 8;
export const DRAFT = 16;

const BITS = new Map<string, number>(SYSTEM_FLAGS.map((f, i) => [f.toLowerCase(), 1 << i]));

/** Bit of a system flag (any case), or 0 for a keyword. */
export function systemFlagBit(flag: string): number {
  return BITS.get(flag.toLowerCase()) ?? 0;
}

export interface FlagSet {
  system: number;
  keywords: string[];
}

export function isRecent(flag: string): boolean {
  return flag.toLowerCase() === '\\recent';
}

export function parseFlags(flags: readonly string[]): FlagSet {
  let system = 0;
  const keywords: string[] = [];
  const seen = new Set<string>();
  for (const f of flags) {
    const bit = systemFlagBit(f);
    if (bit) system |= bit;
    else if (f.length > 0 && !isRecent(f) && !seen.has(f.toLowerCase())) {
      seen.add(f.toLowerCase());
      keywords.push(f);
    }
  }
  return { system, keywords };
}

export function formatFlags(set: FlagSet): string[] {
  const out: string[] = [];
  SYSTEM_FLAGS.forEach((f, i) => {
    if (set.system & (1 << i)) out.push(f);
  });
  return out.concat(set.keywords);
}

/** Applies a STORE operation; returns the new set. */
export function applyFlagOperation(current: FlagSet, op: 'add' | 'remove' | 'replace', given: FlagSet): FlagSet {
  if (op === 'replace') return { system: given.system, keywords: [...given.keywords] };
  if (op === 'add') {
    const have = new Set(current.keywords.map((k) => k.toLowerCase()));
    return {
      system: current.system | given.system,
      keywords: current.keywords.concat(given.keywords.filter((k) => !have.has(k.toLowerCase()))),
    };
  }
  const drop = new Set(given.keywords.map((k) => k.toLowerCase()));
  return { system: current.system & ~given.system, keywords: current.keywords.filter((k) => !drop.has(k.toLowerCase())) };
}

export function sameFlags(a: FlagSet, b: FlagSet): boolean {
  if (a.system !== b.system || a.keywords.length !== b.keywords.length) return false;
  const have = new Set(a.keywords.map((k) => k.toLowerCase()));
  return b.keywords.every((k) => have.has(k.toLowerCase()));
}

/**
 * Keywords as one column: "" or " kw1 kw2 " (keywords are IMAP atoms, so they
 * contain no spaces); a keyword search is instr(lower(col), ' kw ').
 */
export function keywordsToColumn(keywords: readonly string[]): string {
  return keywords.length === 0 ? '' : ` ${keywords.join(' ')} `;
}

export function keywordsFromColumn(col: string): string[] {
  return col === '' ? [] : col.trim().split(' ');
}
