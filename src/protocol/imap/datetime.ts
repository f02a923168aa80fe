// IMAP dates: date-time ("17-Jul-1996 02:44:25 -0700", INTERNALDATE and
// APPEND) and search dates ("1-Feb-1994"). Pure; parse functions return null
// for anything invalid (including impossible days such as 31-Feb).

export const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

function monthIndex(name: string): number {
  const lower = name.toLowerCase();
  return MONTHS.findIndex((m) => m.toLowerCase() === lower);
}

function validDay(year: number, month: number, day: number): boolean {
  if (day < 1) return false;
  const days = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return day <= days;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/**
 * Parses a date-time (without the surrounding quotes). The day may be
 * "dd", " d" (date-day-fixed) or, leniently, "d".
 */
export function parseDateTime(text: string): Date | null {
  const m = /^( ?\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]!.trim());
  const month = monthIndex(m[2]!);
  const year = Number(m[3]);
  const [h, min, s] = [Number(m[4]), Number(m[5]), Number(m[6])];
  const zh = Number(m[8]);
  const zm = Number(m[9]);
  if (month < 0 || !validDay(year, month, day) || h > 23 || min > 59 || s > 60 || zm > 59) return null;
  const offset = (m[7] === '-' ? -1 : 1) * (zh * 60 + zm);
  const ms = Date.UTC(year, month, day, h, min, Math.min(s, 59)) - offset * 60_000;
  return new Date(ms);
}

/** Parses a search date "d-Mon-yyyy" / "dd-Mon-yyyy" into "YYYY-MM-DD". */
export function parseSearchDate(text: string): string | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(text);
  if (!m) return null;
  const day = Number(m[1]);
  const month = monthIndex(m[2]!);
  const year = Number(m[3]);
  if (month < 0 || !validDay(year, month, day)) return null;
  return `${m[3]}-${pad2(month + 1)}-${pad2(day)}`;
}

/**
 * Formats an INTERNALDATE: "dd-Mon-yyyy hh:mm:ss +zzzz", the day padded with
 * a space (date-day-fixed). `offsetMinutes` is the zone east of UTC (default 0).
 */
export function formatDateTime(date: Date, offsetMinutes = 0): string {
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const day = String(local.getUTCDate()).padStart(2, ' ');
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return (
    `${day}-${MONTHS[local.getUTCMonth()]}-${String(local.getUTCFullYear()).padStart(4, '0')} ` +
    `${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}`
  );
}

/** Formats "YYYY-MM-DD" (the AST's search day) back as "d-Mon-yyyy". */
export function formatSearchDate(day: string): string {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return `${d}-${MONTHS[m - 1]}-${y}`;
}
