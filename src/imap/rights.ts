// What a user's rights (RFC 4314) allow on message flags, in one place:
// "s" for \Seen, "t" for \Deleted, "w" for every other flag (section 4);
// and what removing messages from a mailbox needs.

import { ALL_RIGHTS } from '../mail/acl.js';
import { CommandError } from './context.js';

export function mayChangeFlag(rights: string, flag: string): boolean {
  if (flag === '\\Seen') return rights.includes('s');
  if (flag === '\\Deleted') return rights.includes('t');
  return rights.includes('w');
}

/** True when the rights allow every flag change (the owner; most shared set-ups): no filtering needed. */
export function mayChangeAllFlags(rights: string): boolean {
  return rights.includes('s') && rights.includes('t') && rights.includes('w');
}

/** The flags of `flags` the rights let the user set. */
export function permittedFlags(rights: string, flags: readonly string[]): string[] {
  return flags.filter((f) => mayChangeFlag(rights, f));
}

/**
 * A STORE FLAGS (replace) for a user who may change only some flags: the
 * message's flags the user may not change stay as they are (RFC 4314 4).
 */
export function replacedFlags(rights: string, current: readonly string[], requested: readonly string[]): string[] {
  const kept = current.filter((f) => !mayChangeFlag(rights, f));
  const set = new Set([...kept, ...permittedFlags(rights, requested)]);
  return [...set];
}

/**
 * MOVE's source and REPLACE's original lose messages: RFC 4314 4 asks for
 * "t" (they are marked \Deleted) and "e" (and expunged); NO [NOPERM] naming
 * `command` otherwise.
 */
export function requireDeleteAndExpunge(rights: string, command: string): void {
  if (!rights.includes('t') || !rights.includes('e')) {
    throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: `Permission denied (${command} needs the "t" and "e" rights here)` });
  }
}

/** RFC 4314 5.2: READ-ONLY unless one of "i", "e" or the shared flag rights ("s", "w", "t") is granted. */
export function selectsReadOnly(rights: string): boolean {
  return !/[iestw]/.test(rights);
}

/** PERMANENTFLAGS for these rights: the flags the user may store, \* when new keywords too (RFC 4314 5.1.1). */
export function permanentFlags(rights: string, flags: readonly string[]): string[] {
  return rights.includes('w') ? [...permittedFlags(rights, flags), '\\*'] : permittedFlags(rights, flags);
}

