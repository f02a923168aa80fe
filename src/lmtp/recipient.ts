// Recipient address -> account and target folder.
//   user@domain            -> account "user"           (or the account named "user@domain")
//   user+folder@domain     -> account "user", folder "folder" (INBOX when it does not exist)
// Account names tried, in order: the full address, the full address without
// the +detail, the local part, the local part without the +detail.

import type { Directory } from '../mail/ports.js';
import type { Account } from '../mail/types.js';

export interface ParsedRecipient {
  /** Account names to try, most specific first, no duplicates. */
  candidates: Array<{ name: string; folder: string | null }>;
}

export function recipientCandidates(address: string, delimiter: string): ParsedRecipient {
  const at = address.lastIndexOf('@');
  const local = at >= 0 ? address.slice(0, at) : address;
  const domain = at >= 0 ? address.slice(at) : '';
  const out: Array<{ name: string; folder: string | null }> = [];
  const seen = new Set<string>();
  const add = (name: string, folder: string | null): void => {
    if (name.length === 0 || seen.has(name)) return;
    seen.add(name);
    out.push({ name, folder });
  };
  const split = delimiter ? local.indexOf(delimiter) : -1;
  const base = split > 0 ? local.slice(0, split) : null;
  const detail = split > 0 ? local.slice(split + delimiter.length) : null;
  add(address, null);
  if (base !== null) add(base + domain, detail || null);
  add(local, null);
  if (base !== null) add(base, detail || null);
  return { candidates: out };
}

export interface ResolvedRecipient {
  account: Account;
  /** Requested folder from +detail, or null for INBOX. */
  folder: string | null;
}

/** Finds the account of a recipient; null when there is none. Directory errors propagate. */
export async function resolveRecipient(
  directory: Directory,
  address: string,
  delimiter: string,
): Promise<ResolvedRecipient | null> {
  for (const candidate of recipientCandidates(address, delimiter).candidates) {
    const account = await directory.findAccount(candidate.name);
    if (account) return { account, folder: candidate.folder };
  }
  return null;
}
