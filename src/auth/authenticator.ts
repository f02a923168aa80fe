// Password authentication for IMAP (and later POP3, proxy auth): directory
// lookup, scrypt verification off the event loop, a short-lived cache of
// verified credentials (as Dovecot's auth_cache: a client that logs in every
// minute costs one hash per TTL, not one per login), and throttling of
// failures per user and per remote address.
//
// The cache's keys, and the ids of verified credentials that worker
// processes pass to each other, are HMAC-SHA-256 under a random secret of
// this run (the supervisor's, given to its workers; else this process's
// own): without the secret, which never leaves the server's memory, a key
// cannot be tested against guessed passwords, and a key of one run means
// nothing to the next.
//
// A password hash costs 128 MiB and a few hundred ms of one libuv thread.
// Logins with the same credentials that arrive together (a client's many
// connections after a restart) share one verification, and at most
// `maxConcurrentVerifications` run at once, so that a login storm neither
// takes every thread the file system needs nor holds gigabytes.

import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFrozen } from '../mail/account-freeze.js';
import type { Account } from '../mail/types.js';
import type { Directory } from '../mail/ports.js';
import type { Logger } from '../util/log.js';
import { hashPassword, verifyPassword } from './password.js';
import { FailureWindow, type FailureLog } from './throttle.js';
import type { AuthResult, Authenticator } from './types.js';

export interface AuthenticatorOptions {
  /** Failures allowed per user and per address within the window before 'throttled'. */
  failuresPerWindow: number;
  windowSeconds: number;
  logger: Logger;
  /** How long a verified (user, password) pair is trusted without hashing again. Default 60 s. */
  cacheTtlSeconds?: number;
  /** Delay added to every failed attempt, to slow down guessing. Default 500 ms. */
  failureDelayMs?: number;
  /** Where failures are counted; by default a FailureWindow of this process (worker processes share theirs). */
  failures?: FailureLog;
  /** Password verifications running at once (each takes a libuv thread and 128 MiB). Default 2. */
  maxConcurrentVerifications?: number;
  /**
   * Told of each password this process verified (worker processes pass it
   * to the others' rememberVerified(), so a user's first login on each
   * worker does not cost a hash of its own): an opaque id of the
   * (credentials, stored hash) pair, and until when it may be trusted.
   */
  onVerified?: (id: string, expiresAt: number) => void;
  /**
   * The key of the HMAC that names credentials in the cache and in the ids
   * of onVerified/rememberVerified: the same in every worker process of a
   * server, so that they understand each other's ids. Default: 32 random
   * bytes of this process.
   */
  credentialKeySecret?: Buffer;
  /** Checks a password against a stored hash (tests inject one that counts). Default: password.ts. */
  verifyPassword?: (password: string, phc: string) => Promise<boolean>;
  /** Clock in ms (tests inject one). */
  now?: () => number;
  /** Waits `ms` (tests inject one that returns at once). */
  delay?: (ms: number) => Promise<void>;
}

interface CacheEntry {
  account: Account;
  expires: number;
}

const MAX_CACHE_ENTRIES = 50_000;

export function createAuthenticator(directory: Directory, options: AuthenticatorOptions): Authenticator & {
  /** Number of cached credentials (tests, metrics). */
  readonly cacheSize: number;
  /** Another process verified this (credentials, stored hash) pair (see onVerified). */
  rememberVerified(id: string, expiresAt: number): void;
} {
  const now = options.now ?? Date.now;
  const delay = options.delay ?? ((ms: number) => sleep(ms).then(() => undefined));
  const ttlMs = (options.cacheTtlSeconds ?? 60) * 1000;
  const failureDelayMs = options.failureDelayMs ?? 500;
  const failures = options.failures ?? new FailureWindow(options.failuresPerWindow, options.windowSeconds * 1000, now);
  const cache = new Map<string, CacheEntry>();
  const secret = options.credentialKeySecret ?? randomBytes(32);
  /** "<user>\0" (invalidate() finds a user's entries by it) and the HMAC of `parts`, which JSON keeps apart. */
  const keyOf = (username: string, parts: string[]): string =>
    username + '\0' + createHmac('sha256', secret).update(JSON.stringify(parts)).digest('base64');
  const log = options.logger;
  const check = options.verifyPassword ?? verifyPassword;
  const slots = new Semaphore(options.maxConcurrentVerifications ?? 2);
  // id of (credentials, stored hash) -> the verification in progress.
  const verifying = new Map<string, Promise<boolean>>();
  // ids of (credentials, stored hash) verified by another worker process -> until when.
  // Keyed by the stored hash too: a new password invalidates them by itself.
  const verifiedElsewhere = new Map<string, number>();
  /** Verifies once for concurrent callers with the same credentials and hash. */
  const verify = (username: string, password: string, phc: string): Promise<boolean> => {
    const id = keyOf(username, ['verified', username, password, phc]);
    const trustedUntil = verifiedElsewhere.get(id);
    if (trustedUntil !== undefined) {
      verifiedElsewhere.delete(id);
      if (trustedUntil > now()) return Promise.resolve(true);
    }
    let pending = verifying.get(id);
    if (!pending) {
      pending = slots.run(() => check(password, phc)).finally(() => verifying.delete(id));
      verifying.set(id, pending);
      if (options.onVerified) {
        const publish = options.onVerified;
        void pending.then((ok) => ok && publish(id, now() + ttlMs), () => undefined);
      }
    }
    return pending;
  };
  // A hash to verify against when the user does not exist, so that the answer
  // takes as long as for a real user (no user enumeration by timing).
  let dummyHash: Promise<string> | null = null;

  const cacheKey = (username: string, password: string): string => keyOf(username, ['login', username, password]);

  async function fail(username: string, remoteAddress: string, reason: 'invalid' | 'throttled'): Promise<AuthResult> {
    if (reason === 'invalid') {
      failures.record('user:' + username);
      failures.record('ip:' + remoteAddress);
    }
    log.info('auth failed', { user: username, remote: remoteAddress, reason });
    await delay(failureDelayMs);
    return { ok: false, reason };
  }

  return {
    get cacheSize() {
      return cache.size;
    },

    async authenticate(username, password, remoteAddress) {
      if (failures.isThrottled('user:' + username) || failures.isThrottled('ip:' + remoteAddress)) {
        return fail(username, remoteAddress, 'throttled');
      }
      const key = cacheKey(username, password);
      const hit = cache.get(key);
      if (hit && hit.expires > now()) return { ok: true, account: hit.account };
      if (hit) cache.delete(key);

      let account: Account | null;
      try {
        account = await directory.findAccount(username);
      } catch (e) {
        log.error('auth: directory lookup failed', { user: username, err: e instanceof Error ? e : String(e) });
        return { ok: false, reason: 'unavailable' };
      }
      if (!account) {
        dummyHash ??= hashPassword('petrel-no-such-user');
        await verify(username, password, await dummyHash);
        return fail(username, remoteAddress, 'invalid');
      }
      if (!(await verify(username, password, account.passwordHash))) return fail(username, remoteAddress, 'invalid');
      // Only a caller who knows the password learns the account is disabled.
      if (account.disabled) {
        log.info('auth refused: account disabled', { user: username, remote: remoteAddress });
        return { ok: false, reason: 'disabled' };
      }
      failures.clear('user:' + username);
      // `petrel user move` is finishing: a temporary refusal, never cached.
      if (isFrozen(account, now())) return { ok: false, reason: 'unavailable' };
      if (cache.size >= MAX_CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(key, { account, expires: now() + ttlMs });
      return { ok: true, account };
    },

    invalidate(username) {
      const prefix = username + '\0';
      for (const key of cache.keys()) if (key.startsWith(prefix)) cache.delete(key);
      for (const id of verifiedElsewhere.keys()) if (id.startsWith(prefix)) verifiedElsewhere.delete(id);
    },

    rememberVerified(id, expiresAt) {
      if (verifiedElsewhere.size >= MAX_CACHE_ENTRIES) verifiedElsewhere.delete(verifiedElsewhere.keys().next().value as string);
      verifiedElsewhere.set(id, expiresAt);
    },
  };
}

/** At most `limit` tasks at once; the others wait in order. */
class Semaphore {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
