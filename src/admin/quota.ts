// `petrel user quota`: the values an operator types for quota limits.

import { storageUnits } from '../mail/quota.js';
import { AdminError, EXIT } from './types.js';

const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * A storage limit: "none" (unlimited) or a size in octets with an optional
 * binary suffix K, M, G or T (optionally followed by B: 500M, 2G, 1536KB).
 * Returned in RFC 9208 STORAGE units (1024 octets), rounded up.
 */
export function parseStorageLimit(text: string): number | null {
  if (text.toLowerCase() === 'none') return null;
  const m = /^(\d+)\s*([KMGT]?)B?$/i.exec(text.trim());
  if (!m) throw new AdminError(`invalid --storage ${JSON.stringify(text)}: use a size like 500M, 2G, 1048576 or "none"`, EXIT.USAGE);
  const octets = Number(m[1]) * UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(octets)) throw new AdminError(`--storage ${text} is too large`, EXIT.USAGE);
  return storageUnits(octets);
}

/** A message count limit: "none" or a non-negative integer. */
export function parseMessageLimit(text: string): number | null {
  if (text.toLowerCase() === 'none') return null;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new AdminError(`invalid --messages ${JSON.stringify(text)}: use a number or "none"`, EXIT.USAGE);
  return Number(text);
}

/** 1536 KiB -> "1.5 MiB", for the operator's eyes (the table also has exact KiB). */
export function formatKiB(kib: number): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = kib;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
