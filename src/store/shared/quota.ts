// Quota (RFC 9208) rules shared by the backends: the account's limits live in
// its accounts row (quota_storage in KiB, quota_messages; NULL = unlimited);
// usage is an aggregate over the account's live messages (indexed), computed
// inside the adding transaction after the account row is locked, so that
// concurrent adders of one account are serialized and can never overshoot.

import { MailError } from '../../mail/errors.js';
import { STORAGE_UNIT } from '../../mail/quota.js';
import type { QuotaLimits, QuotaUsage } from '../../mail/types.js';

export interface QuotaRow {
  quota_storage: number | string | null;
  quota_messages: number | string | null;
}

const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

export function toQuotaLimits(r: QuotaRow): QuotaLimits {
  return { storage: num(r.quota_storage), messages: num(r.quota_messages) };
}

export function hasLimits(l: QuotaLimits): boolean {
  return l.storage !== null || l.messages !== null;
}

/** Rejects limits that are not non-negative integers (or null). */
export function validateLimits(l: QuotaLimits): void {
  for (const v of [l.storage, l.messages]) {
    if (v !== null && (!Number.isSafeInteger(v) || v < 0))
      throw new MailError('LIMIT', `quota limit must be a non-negative integer, not ${v}`);
  }
}

/**
 * Throws OVER_QUOTA if adding `addMessages` messages of `addBytes` octets to
 * an account using `usage` would exceed a limit. Only a resource that grows
 * is checked: adding nothing never fails (an account already over a lowered
 * limit can still expunge and move), nor does a REPLACE that adds no message
 * or no octets on net (RFC 8508 3.4; the deltas may then be negative).
 */
export function checkQuota(limits: QuotaLimits, usage: QuotaUsage, addMessages: number, addBytes: number): void {
  if (limits.messages !== null && addMessages > 0 && usage.messages + addMessages > limits.messages)
    throw new MailError('OVER_QUOTA', `message quota of ${limits.messages} messages exceeded`);
  if (limits.storage !== null && addBytes > 0 && usage.storageBytes + addBytes > limits.storage * STORAGE_UNIT)
    throw new MailError('OVER_QUOTA', `storage quota of ${limits.storage} KiB exceeded`);
}
