// LOGIN (RFC 9051 6.2.3).

import type { Handler, CommandOf } from '../context.js';
import { privacyRequired, verifyLogin } from './login-common.js';

export const loginHandler: Handler<CommandOf<'LOGIN'>> = async ({ session, command }) => {
  return privacyRequired(session) ?? verifyLogin(session, command.username, command.password);
};
