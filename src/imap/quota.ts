// RFC 9208 QUOTA, as Petrel has it: one quota root per account, named "",
// covering all the account's mailboxes, with the STORAGE (units of 1024
// octets) and MESSAGE resources. Limits live in the directory, usage is the
// store's exact aggregate.

import { storageUnits } from '../mail/quota.js';
import type { Account } from '../mail/types.js';
import type { Response } from '../protocol/imap/response.js';
import type { SessionDeps } from './context.js';

/** The name of the account's only quota root. */
export const QUOTA_ROOT = '';

/** The capabilities to advertise for what is implemented here. */
export const QUOTA_CAPABILITIES = ['QUOTA', 'QUOTA=RES-STORAGE', 'QUOTA=RES-MESSAGE'];

/** The untagged QUOTA response of the account's root: only limited resources are listed. */
export async function quotaResponse(deps: Pick<SessionDeps, 'store' | 'directory'>, account: Account): Promise<Response> {
  const [limits, usage] = await Promise.all([deps.directory.getQuota(account.name), deps.store.quotaUsage(account.id)]);
  const resources: Array<{ name: string; usage: number; limit: number }> = [];
  if (limits.storage !== null)
    resources.push({ name: 'STORAGE', usage: storageUnits(usage.storageBytes), limit: limits.storage });
  if (limits.messages !== null) resources.push({ name: 'MESSAGE', usage: usage.messages, limit: limits.messages });
  return { kind: 'QUOTA', root: QUOTA_ROOT, resources };
}
