// What the protocol servers need from authentication. Implemented in
// src/auth/authenticator.ts (password hashing, credential cache, throttling).

import type { Account } from '../mail/types.js';

export type AuthFailure =
  | 'invalid' // wrong user or password (never say which)
  | 'throttled' // too many recent failures for this user or address
  | 'disabled' // account disabled
  | 'unavailable'; // directory unreachable

export type AuthResult = { ok: true; account: Account } | { ok: false; reason: AuthFailure };

export interface Authenticator {
  /** Verifies a password login; hashing runs off the event loop; failures are throttled per user and per IP. */
  authenticate(username: string, password: string, remoteAddress: string): Promise<AuthResult>;
  /** Forget cached credentials of an account (password change, deletion). */
  invalidate(username: string): void;
}
