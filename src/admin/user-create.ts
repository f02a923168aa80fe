// Creating users, shared by `petrel user add` and `petrel user add-many`: what
// a name and a password may be, and the creation itself.

import { provisionMailboxes } from '../mail/provision.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { Account } from '../mail/types.js';
import { AdminError, EXIT, type AdminContext } from './types.js';

/** Account names: printable, no spaces, quotes or backslashes (they must survive IMAP LOGIN and LMTP). */
const ACCOUNT_NAME = /^[^\s"\\\x00-\x1f\x7f]{1,255}$/;

export function checkAccountName(name: string): void {
  if (!ACCOUNT_NAME.test(name)) {
    throw new AdminError(`invalid user name ${JSON.stringify(name)}: use 1-255 characters without spaces, quotes or backslashes`, EXIT.USAGE);
  }
}

export function checkPassword(password: string): void {
  if (password.length === 0) throw new AdminError('the password must not be empty', EXIT.USAGE);
  if (/[\r\n\0]/.test(password)) throw new AdminError('the password must not contain line breaks or NUL', EXIT.USAGE);
}

/**
 * Creates the user with its mailboxes in `repo` (Repositories.createAccount),
 * provisions the configured default mailboxes and tells the servers.
 * ALREADY_EXISTS (a MailError) when the name is taken.
 */
export async function createUser(ctx: AdminContext, repos: Repositories, repo: Repository, name: string, passwordHash: string): Promise<Account> {
  const account = await repos.createAccount(name, passwordHash, repo);
  await provisionMailboxes(repo.store, account.id, ctx.config.imap.defaultMailboxes);
  ctx.events.publish({ kind: 'account-changed', accountName: name });
  return account;
}
