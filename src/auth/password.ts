// Password hashes as PHC-style strings: $scheme$params$salt$hash (salt and
// hash in unpadded base64). Creating uses scrypt; verifying dispatches on the
// scheme, so schemes imported from other servers can be added to SCHEMES
// without touching callers. Hashing runs on libuv's thread pool (the async
// node:crypto API), never on the event loop.

import { randomBytes, scrypt as scryptCallback, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export interface ScryptCost {
  /** log2 of N (CPU/memory cost). 17 -> N = 131072, 128 MiB with r = 8. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP's recommended scrypt cost: N = 2^17, r = 8, p = 1. */
export const DEFAULT_SCRYPT_COST: ScryptCost = { ln: 17, r: 8, p: 1 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;

function scrypt(password: Buffer, salt: Buffer, length: number, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** cost.ln,
    r: cost.r,
    p: cost.p,
    // scrypt needs 128 * N * r bytes; allow that plus slack.
    maxmem: 128 * 2 ** cost.ln * cost.r * (cost.p + 1) + 1024 * 1024,
  };
  return new Promise((resolve, reject) =>
    scryptCallback(password, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

const b64 = (buf: Buffer): string => buf.toString('base64').replace(/=+$/, '');

/** Hashes a password with scrypt; returns "$scrypt$ln=17,r=8,p=1$salt$hash". */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): Promise<string> {
  checkCost(cost);
  const salt = randomBytes(SALT_BYTES);
  const hash = await scrypt(Buffer.from(password, 'utf8'), salt, HASH_BYTES, cost);
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(hash)}`;
}

function checkCost(cost: ScryptCost): void {
  if (!Number.isInteger(cost.ln) || cost.ln < 1 || cost.ln > 22) throw new RangeError('scrypt ln out of range');
  if (!Number.isInteger(cost.r) || cost.r < 1 || cost.r > 32) throw new RangeError('scrypt r out of range');
  if (!Number.isInteger(cost.p) || cost.p < 1 || cost.p > 16) throw new RangeError('scrypt p out of range');
}

export interface ParsedHash {
  scheme: string;
  params: Map<string, string>;
  salt: Buffer;
  hash: Buffer;
}

const B64_FIELD = /^[A-Za-z0-9+/]+$/;

/** Splits a PHC string; null when malformed. */
export function parseHash(phc: string): ParsedHash | null {
  const parts = phc.split('$');
  // ['', scheme, params, salt, hash]
  if (parts.length !== 5 || parts[0] !== '') return null;
  const [, scheme, paramText, saltText, hashText] = parts as [string, string, string, string, string];
  if (!/^[a-z0-9-]+$/.test(scheme) || !B64_FIELD.test(saltText) || !B64_FIELD.test(hashText)) return null;
  const params = new Map<string, string>();
  for (const pair of paramText.split(',')) {
    const m = /^([a-z0-9-]+)=([A-Za-z0-9+/.-]+)$/.exec(pair);
    if (!m) return null;
    params.set(m[1]!, m[2]!);
  }
  return { scheme, params, salt: Buffer.from(saltText, 'base64'), hash: Buffer.from(hashText, 'base64') };
}

interface Scheme {
  verify(password: Buffer, parsed: ParsedHash): Promise<boolean>;
}

function intParam(params: Map<string, string>, name: string): number | null {
  const text = params.get(name);
  return text !== undefined && /^\d{1,3}$/.test(text) ? Number(text) : null;
}

const scryptScheme: Scheme = {
  async verify(password, parsed) {
    const ln = intParam(parsed.params, 'ln');
    const r = intParam(parsed.params, 'r');
    const p = intParam(parsed.params, 'p');
    if (ln === null || r === null || p === null || parsed.hash.length < 16 || parsed.hash.length > 64) return false;
    const cost = { ln, r, p };
    try {
      checkCost(cost);
    } catch {
      return false;
    }
    const computed = await scrypt(password, parsed.salt, parsed.hash.length, cost);
    return timingSafeEqual(computed, parsed.hash);
  },
};

/** Verifiable schemes by PHC identifier. Add imported schemes here. */
const SCHEMES = new Map<string, Scheme>([['scrypt', scryptScheme]]);

/** True when `password` matches the stored hash. Unknown schemes and malformed hashes never match. */
export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const parsed = parseHash(phc);
  if (!parsed) return false;
  const scheme = SCHEMES.get(parsed.scheme);
  if (!scheme) return false;
  return scheme.verify(Buffer.from(password, 'utf8'), parsed);
}
