// Finding a user for an admin command: the directory entry, and the
// repository that holds its mailboxes.

import type { Repositories, Repository } from '../mail/repository.js';
import type { Account } from '../mail/types.js';
import { AdminError, EXIT, type AdminContext } from './types.js';

export async function requireAccount(repos: Repositories, name: string): Promise<Account> {
  const account = await repos.directory.findAccount(name);
  if (!account) throw new AdminError(`no such user ${JSON.stringify(name)}`, EXIT.NOUSER);
  return account;
}

/** The account and the repository holding its mailboxes. */
export async function accountRepository(ctx: AdminContext, name: string): Promise<{ account: Account; repo: Repository; repos: Repositories }> {
  const repos = await ctx.repositories();
  const account = await requireAccount(repos, name);
  return { account, repo: await repos.forAccount(account), repos };
}
