// RFC 5322 3.3 date-time parser that also takes the obsolete forms (4.3):
// two- and three-digit years, named zones (UT, GMT, EST...), military zones,
// missing seconds, missing day-of-week, comments, and stray punctuation.

export interface ParsedDate {
  /** ms since the epoch, UTC. */
  time: number;
  /** Zone offset in minutes east of UTC. */
  offset: number;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const ZONES: Record<string, number> = {
  ut: 0, utc: 0, gmt: 0, z: 0,
  est: -300, edt: -240, cst: -360, cdt: -300, mst: -420, mdt: -360, pst: -480, pdt: -420,
  cet: 60, cest: 120, met: 60, mest: 120, bst: 60, ist: 330, jst: 540, eet: 120, eest: 180, wet: 0, west: 60,
};

/** Parses a Date: field value; null when no date can be recovered. */
export function parseDate(value: string | null | undefined): ParsedDate | null {
  if (!value) return null;
  const s = value
    .replace(/\([^()]*\)/g, ' ')
    .replace(/[,]/g, ' ')
    .toLowerCase();
  const m =
    /(\d{1,2})\s*[- ]\s*([a-z]{3})[a-z]*\.?\s*[- ]\s*(\d{2,4})\s+(\d{1,2})\s*[:.]\s*(\d{1,2})(?:\s*[:.]\s*(\d{1,2}))?(?:\.\d+)?\s*([+-]\s*\d{1,4}|[a-z]{1,5})?/.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf(m[2]!);
  let year = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] !== undefined ? Number(m[6]) : 0;
  if (month < 0 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  // RFC 5322 4.3: two-digit years 00-49 are 2000+, 50-99 are 1900+; three digits add 1900.
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3]!.length === 3) year += 1900;
  let offset = 0;
  const zone = m[7]?.replace(/\s+/g, '');
  if (zone) {
    if (zone[0] === '+' || zone[0] === '-') {
      const digits = zone.slice(1).padStart(4, '0');
      const hh = Number(digits.slice(0, 2));
      const mm = Number(digits.slice(2, 4));
      if (mm < 60) offset = (zone[0] === '-' ? -1 : 1) * (hh * 60 + mm) || 0; // no -0: it must survive JSON
    } else if (zone in ZONES) offset = ZONES[zone]!;
    // Military zones and unknown names mean "unknown": treated as +0000 (RFC 5322 4.3).
  }
  const utc = Date.UTC(year, month, day, hour, minute, Math.min(second, 59)) - offset * 60_000;
  if (!Number.isFinite(utc)) return null;
  return { time: utc, offset };
}
