// RFC 9208 STORAGE units: quota limits and usage are counted in units of 1024
// octets (section 5.1), while the stores count octets.

/** 1 STORAGE unit = 1024 octets (RFC 9208 section 5.1). */
export const STORAGE_UNIT = 1024;

/** Octets in RFC 9208 STORAGE units, rounded up (usage never exceeds the limit unless the octets do). */
export function storageUnits(octets: number): number {
  return Math.ceil(octets / STORAGE_UNIT);
}
