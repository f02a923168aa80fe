// Mailbox-name and UID-set rules shared by every MailStore backend (RFC 9051
// 5.1: "INBOX" is case-insensitive, "/" is the hierarchy delimiter here).

import { MailError } from '../../mail/errors.js';
import { HIERARCHY_DELIMITER, type UidSet } from '../../mail/types.js';

export const MAX_UID = 4294967295;

/**
 * Canonical form of a mailbox name: "INBOX" (any case) as the first
 * component is spelled INBOX, a trailing delimiter is dropped (CREATE "a/"),
 * other names are case-sensitive. INVALID_NAME for empty components and
 * control characters.
 */
export function normalizeMailboxName(name: string): string {
  let n = name;
  if (n.endsWith(HIERARCHY_DELIMITER)) n = n.slice(0, -1);
  const parts = n.split(HIERARCHY_DELIMITER);
  if (n.length === 0 || n.length > 1000 || parts.some((p) => p.length === 0))
    throw new MailError('INVALID_NAME', `invalid mailbox name ${JSON.stringify(name)}`);
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(n)) throw new MailError('INVALID_NAME', 'mailbox name contains control characters');
  if (parts[0]!.toLowerCase() === 'inbox') parts[0] = 'INBOX';
  return parts.join(HIERARCHY_DELIMITER);
}

/** Names of the missing-or-not parents of `name`, outermost first. */
export function parentNames(name: string): string[] {
  const parts = name.split(HIERARCHY_DELIMITER);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join(HIERARCHY_DELIMITER));
  return out;
}

/** The prefix every child of `name` starts with. */
export function childPrefix(name: string): string {
  return name + HIERARCHY_DELIMITER;
}

/**
 * RENAME checks that need no database (RFC 9051 6.3.6): the target may not
 * be INBOX nor lie inside the source. Renaming INBOX itself is handled apart.
 */
export function checkRenameNames(from: string, to: string): void {
  if (to === 'INBOX') throw new MailError('ALREADY_EXISTS', 'INBOX already exists');
  if (from !== 'INBOX' && to.startsWith(childPrefix(from)))
    throw new MailError('INVALID_NAME', `cannot rename ${from} to a name inside itself`);
}

/** New names of a mailbox and its children when `from` is renamed to `to`. */
export function renamedFamily<T extends { id: number; name: string }>(
  family: readonly T[],
  from: string,
  to: string,
): Array<{ id: number; name: string }> {
  return family.map((m) => ({ id: m.id, name: to + m.name.slice(from.length) }));
}

/** Sorted, merged, clamped ranges of a UID set. */
export function normalizeUidSet(set: UidSet): Array<[number, number]> {
  const ranges = set
    .map((r): [number, number] => {
      const a = Math.max(1, Math.min(r.start, r.end));
      const b = Math.min(MAX_UID, Math.max(r.start, r.end));
      return [a, b];
    })
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}
