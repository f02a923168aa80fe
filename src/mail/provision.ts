// Provisioning of a new account's mailboxes: INBOX and the configured
// special-use folders (Drafts, Sent, Trash, Junk, Archive by default). Used by
// `petrel user add` and, for accounts that reach the server unprovisioned, by
// the first IMAP login. Never recreates what exists.

import type { PetrelConfig } from '../config/types.js';
import { isMailError } from './errors.js';
import type { MailStore } from './ports.js';
import type { AccountId, SpecialUse } from './types.js';

export type DefaultMailboxes = PetrelConfig['imap']['defaultMailboxes'];

/** Creates INBOX and each default mailbox that is missing. Returns the names it created. */
export async function provisionMailboxes(store: MailStore, accountId: AccountId, defaults: DefaultMailboxes): Promise<string[]> {
  const existing = new Set((await store.listMailboxes(accountId)).map((m) => m.name));
  const created: string[] = [];
  const wanted = [{ name: 'INBOX', specialUse: null, subscribe: true }, ...defaults];
  for (const m of wanted) {
    if (existing.has(m.name)) {
      // An INBOX that a delivery created before provisioning is not subscribed yet.
      if (m.name === 'INBOX') await store.setSubscribed(accountId, 'INBOX', true);
      continue;
    }
    try {
      await store.createMailbox(accountId, m.name, { specialUse: (m.specialUse ?? null) as SpecialUse | null });
    } catch (e) {
      // Created meanwhile by a concurrent login or delivery: fine.
      if (!isMailError(e, 'ALREADY_EXISTS')) throw e;
      continue;
    }
    created.push(m.name);
    if (m.subscribe) await store.setSubscribed(accountId, m.name, true);
  }
  return created;
}

/**
 * An account is unprovisioned when it has nothing but (maybe) an INBOX that a
 * delivery created before anyone provisioned it.
 */
export async function needsProvisioning(store: MailStore, accountId: AccountId): Promise<boolean> {
  return (await store.listMailboxes(accountId)).every((m) => m.name === 'INBOX');
}
