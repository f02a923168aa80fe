// What LOGIN and AUTHENTICATE share: the plaintext check and the mapping of
// authentication failures to response codes.

import type { AuthResult } from '../../auth/types.js';
import { loginAllowed } from '../capabilities.js';
import type { TaggedResult } from '../context.js';
import type { Session } from '../session.js';

/** A tagged NO when passwords may not be sent on this connection yet (LOGINDISABLED). */
export function privacyRequired(session: Session): TaggedResult | null {
  if (loginAllowed(session.capabilityState())) return null;
  return { status: 'NO', code: { kind: 'PRIVACYREQUIRED' }, text: 'Plaintext authentication is disabled; use TLS first' };
}

export async function verifyLogin(session: Session, username: string, password: string): Promise<TaggedResult> {
  let result: AuthResult;
  try {
    result = await session.deps.auth.authenticate(username, password, session.io.remoteAddress);
  } catch (e) {
    session.log.error('authenticator failed', { err: e instanceof Error ? e : String(e) });
    return { status: 'NO', code: { kind: 'UNAVAILABLE' }, text: 'Authentication temporarily unavailable' };
  }
  if (result.ok) return session.completeLogin(result.account);
  session.log.info('login failed', { user: username, reason: result.reason });
  switch (result.reason) {
    case 'invalid':
      return { status: 'NO', code: { kind: 'AUTHENTICATIONFAILED' }, text: 'Authentication failed' };
    case 'throttled':
      return { status: 'NO', code: { kind: 'UNAVAILABLE' }, text: 'Too many failed attempts; try again later' };
    case 'disabled':
      return { status: 'NO', code: { kind: 'CONTACTADMIN' }, text: 'Account disabled' };
    case 'unavailable':
      return { status: 'NO', code: { kind: 'UNAVAILABLE' }, text: 'Authentication temporarily unavailable' };
  }
}
