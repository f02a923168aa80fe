// `petrel user move` freezes one account's writes for the few moments it
// copies the last changes and switches the directory entry (ARCHITECTURE.md,
// decision 10). The freeze is a time in the directory, not a flag, so a move
// that dies mid-way thaws by itself: logins and deliveries get temporary
// failures (IMAP NO [UNAVAILABLE], LMTP 451) until then, never a bounce.

import type { Account } from './types.js';

export function isFrozen(account: Pick<Account, 'frozenUntil'>, now = Date.now()): boolean {
  return account.frozenUntil != null && account.frozenUntil.getTime() > now;
}

