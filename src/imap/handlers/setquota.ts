// SETQUOTA (RFC 9208 4.1.3): only administrators may change limits, and
// Petrel has no administrator IMAP users: limits are set with
// `petrel user quota`. So QUOTASET is not advertised and SETQUOTA is refused.

import type { CommandOf, Handler } from '../context.js';

export const setquotaHandler: Handler<CommandOf<'SETQUOTA'>> = async () => ({
  status: 'NO',
  code: { kind: 'NOPERM' },
  text: 'Quota limits are set by the administrator (petrel user quota)',
});
