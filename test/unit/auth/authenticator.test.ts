import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createAuthenticator } from '../../../src/auth/authenticator.js';
import { hashPassword } from '../../../src/auth/password.js';
import { MailError } from '../../../src/mail/errors.js';
import type { Directory } from '../../../src/mail/ports.js';
import type { Account } from '../../../src/mail/types.js';
import { silentLogger } from '../../../src/util/log.js';

const FAST = { ln: 4, r: 8, p: 1 };

/** An in-memory Directory that counts lookups. */
function memoryDirectory(accounts: Account[]): Directory & { lookups: number; failing: boolean } {
  const dir = {
    lookups: 0,
    failing: false,
    async findAccount(name: string) {
      dir.lookups++;
      if (dir.failing) throw new MailError('UNAVAILABLE', 'down');
      return accounts.find((a) => a.name === name) ?? null;
    },
    async getAccount(id: number) {
      return accounts.find((a) => a.id === id) ?? null;
    },
    async createAccount(): Promise<Account> {
      throw new Error('unused');
    },
    async setPassword(name: string, passwordHash: string) {
      const a = accounts.find((x) => x.name === name);
      if (a) a.passwordHash = passwordHash;
    },
    async setDisabled(name: string, disabled: boolean) {
      const a = accounts.find((x) => x.name === name);
      if (a) a.disabled = disabled;
    },
    async setFrozenUntil(name: string, until: Date | null) {
      const a = accounts.find((x) => x.name === name);
      if (a) a.frozenUntil = until;
    },
    async switchRepository() {
      return false;
    },
    async deleteAccount() {},
    async listAccounts() {
      return accounts;
    },
    async getQuota() {
      return { storage: null, messages: null };
    },
    async setQuota() {},
    async adoptAccount() {},
    async listRepositories() {
      return [];
    },
    async addRepository() {},
    async setRepositoryReplicas() {},
  };
  return dir;
}

async function setup(options: { disabled?: boolean } = {}) {
  const account: Account = {
    id: 1,
    name: 'alice',
    passwordHash: await hashPassword('secret', FAST),
    disabled: options.disabled ?? false,
    createdAt: new Date(0),
    repository: 'default',
  };
  const directory = memoryDirectory([account]);
  let now = 1_000_000;
  const delays: number[] = [];
  const auth = createAuthenticator(directory, {
    failuresPerWindow: 3,
    windowSeconds: 60,
    logger: silentLogger,
    cacheTtlSeconds: 60,
    failureDelayMs: 250,
    now: () => now,
    delay: async (ms) => {
      delays.push(ms);
    },
  });
  return { auth, directory, account, delays, advance: (ms: number) => (now += ms) };
}

describe('authenticator: password verification under load', () => {
  /** Verifications that wait until released, counted while they run. */
  function gatedVerifier() {
    const gates: Array<() => void> = [];
    const state = { calls: 0, running: 0, maxRunning: 0 };
    const verify = async (password: string): Promise<boolean> => {
      state.calls++;
      state.running++;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      await new Promise<void>((resolve) => gates.push(resolve));
      state.running--;
      return password === 'secret';
    };
    /** Lets every waiting verification finish, until `done` settles. */
    const drain = async (done: Promise<unknown>): Promise<void> => {
      let settled = false;
      void done.finally(() => (settled = true));
      while (!settled) {
        await new Promise((r) => setImmediate(r));
        gates.splice(0).forEach((g) => g());
      }
    };
    return { verify, state, drain };
  }

  function accounts(names: string[]): Account[] {
    return names.map((name, i) => ({ id: i + 1, name, passwordHash: '$scrypt$stored', disabled: false, createdAt: new Date(0), repository: 'default' }));
  }

  test('simultaneous logins with the same credentials share one verification', async () => {
    const gated = gatedVerifier();
    const auth = createAuthenticator(memoryDirectory(accounts(['alice'])), {
      failuresPerWindow: 100,
      windowSeconds: 60,
      logger: silentLogger,
      verifyPassword: gated.verify,
      delay: async () => {},
    });
    const logins = Promise.all(Array.from({ length: 10 }, () => auth.authenticate('alice', 'secret', '10.0.0.1')));
    await gated.drain(logins);
    assert.ok((await logins).every((r) => r.ok));
    assert.equal(gated.state.calls, 1);
    // A wrong password is not answered by the right one's verification, and vice versa.
    const mixed = Promise.all([auth.authenticate('alice', 'wrong', '10.0.0.1'), auth.authenticate('alice', 'wrong', '10.0.0.1')]);
    await gated.drain(mixed);
    assert.deepEqual((await mixed).map((r) => r.ok), [false, false]);
    assert.equal(gated.state.calls, 2);
  });

  test('no more verifications run at once than allowed', async () => {
    const gated = gatedVerifier();
    const names = ['u1', 'u2', 'u3', 'u4', 'u5', 'u6'];
    const auth = createAuthenticator(memoryDirectory(accounts(names)), {
      failuresPerWindow: 100,
      windowSeconds: 60,
      logger: silentLogger,
      verifyPassword: gated.verify,
      maxConcurrentVerifications: 2,
      delay: async () => {},
    });
    const logins = Promise.all(names.map((n) => auth.authenticate(n, 'secret', '10.0.0.1')));
    await gated.drain(logins);
    assert.ok((await logins).every((r) => r.ok));
    assert.equal(gated.state.calls, 6);
    assert.equal(gated.state.maxRunning, 2);
  });
});

describe('authenticator: verifications shared between worker processes', () => {
  test('a password verified by one worker is trusted once by another, for that stored hash and until it expires', async () => {
    const account: Account = { id: 1, name: 'alice', passwordHash: '$scrypt$one', disabled: false, createdAt: new Date(0), repository: 'default' };
    let now = 1_000_000;
    const calls: string[] = [];
    const verifyPassword = async (password: string, phc: string) => {
      calls.push(`${password} ${phc}`);
      return password === 'secret';
    };
    // The workers of one server share the supervisor's secret (src/cli/workers/supervisor.ts).
    const credentialKeySecret = randomBytes(32);
    const common = { failuresPerWindow: 100, windowSeconds: 60, logger: silentLogger, verifyPassword, now: () => now, delay: async () => {}, credentialKeySecret };
    const published: Array<[string, number]> = [];
    const one = createAuthenticator(memoryDirectory([account]), { ...common, onVerified: (id, until) => published.push([id, until]) });
    const two = createAuthenticator(memoryDirectory([account]), common);

    assert.equal((await one.authenticate('alice', 'secret', '10.0.0.1')).ok, true);
    assert.equal(calls.length, 1);
    assert.equal(published.length, 1, 'published once verified');
    assert.equal(published[0]![1], now + 60_000, 'for the cache TTL');
    assert.equal((await one.authenticate('alice', 'wrong', '10.0.0.1')).ok, false);
    assert.equal(published.length, 1, 'a wrong password is not published');

    for (const [id, until] of published) two.rememberVerified(id, until);
    assert.equal((await two.authenticate('alice', 'secret', '10.0.0.2')).ok, true);
    assert.equal(calls.length, 2, 'no hash of its own');
    assert.equal((await two.authenticate('alice', 'wrong', '10.0.0.2')).ok, false);
    assert.equal(calls.length, 3, 'another password is verified');

    // A new stored hash (password changed) is not covered by the old pair.
    const three = createAuthenticator(memoryDirectory([{ ...account, passwordHash: '$scrypt$two' }]), common);
    three.rememberVerified(published[0]![0], published[0]![1]);
    assert.equal((await three.authenticate('alice', 'secret', '10.0.0.3')).ok, true);
    assert.equal(calls.at(-1), 'secret $scrypt$two');
    // Nor is an expired one.
    const four = createAuthenticator(memoryDirectory([account]), common);
    four.rememberVerified(published[0]![0], published[0]![1]);
    now += 60_001;
    const before = calls.length;
    assert.equal((await four.authenticate('alice', 'secret', '10.0.0.4')).ok, true);
    assert.equal(calls.length, before + 1);
  });

  test('ids are HMACs under the run\'s secret: another run names the same credentials otherwise and does not trust them', async () => {
    const account: Account = { id: 1, name: 'alice', passwordHash: '$scrypt$one', disabled: false, createdAt: new Date(0), repository: 'default' };
    let calls = 0;
    const verifyPassword = async (password: string) => {
      calls++;
      return password === 'secret';
    };
    const common = { failuresPerWindow: 100, windowSeconds: 60, logger: silentLogger, verifyPassword, delay: async () => {} };
    /** The id one authenticator (one run of the server, with its own secret unless given) publishes for alice/secret. */
    const idOfRun = async (credentialKeySecret?: Buffer): Promise<string> => {
      const published: string[] = [];
      const auth = createAuthenticator(memoryDirectory([account]), {
        ...common,
        ...(credentialKeySecret ? { credentialKeySecret } : {}),
        onVerified: (id) => published.push(id),
      });
      assert.equal((await auth.authenticate('alice', 'secret', '10.0.0.1')).ok, true);
      assert.equal(published.length, 1);
      return published[0]!;
    };
    const first = await idOfRun();
    const second = await idOfRun();
    assert.notEqual(first, second, 'two runs, two secrets of their own');
    const shared = randomBytes(32);
    assert.equal(await idOfRun(shared), await idOfRun(shared), 'the workers of one run agree');
    // Nothing in the id that can be computed without the secret: no plain SHA-256 of the credentials, no stored hash.
    for (const id of [first, second]) {
      assert.ok(id.startsWith('alice\0'), 'the user name stays in front (invalidate() finds it)');
      for (const encoding of ['base64', 'hex'] as const) {
        for (const input of ['alice\0secret', 'secret', 'alice\0secret\0$scrypt$one'])
          assert.ok(!id.includes(createHash('sha256').update(input).digest(encoding)), input);
      }
      assert.ok(!id.includes('$scrypt$one'));
    }
    // A worker of another run (another secret) does not take the id for this password: it hashes.
    const other = createAuthenticator(memoryDirectory([account]), common);
    other.rememberVerified(first, Date.now() + 60_000);
    const before = calls;
    assert.equal((await other.authenticate('alice', 'secret', '10.0.0.2')).ok, true);
    assert.equal(calls, before + 1);
  });
});

describe('authenticator', () => {
  test('accepts the right password and refuses a wrong one or an unknown user as "invalid"', async () => {
    const { auth, delays } = await setup();
    const ok = await auth.authenticate('alice', 'secret', '10.0.0.1');
    assert.equal(ok.ok, true);
    assert.equal(ok.ok && ok.account.name, 'alice');
    assert.deepEqual(await auth.authenticate('alice', 'wrong', '10.0.0.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(await auth.authenticate('bob', 'secret', '10.0.0.1'), { ok: false, reason: 'invalid' });
    assert.deepEqual(delays, [250, 250], 'each failure is delayed');
  });

  test('disabled accounts are refused (only with the right password)', async () => {
    const { auth } = await setup({ disabled: true });
    assert.deepEqual(await auth.authenticate('alice', 'secret', '1.1.1.1'), { ok: false, reason: 'disabled' });
    assert.deepEqual(await auth.authenticate('alice', 'nope', '1.1.1.1'), { ok: false, reason: 'invalid' });
  });

  test('an account frozen by `petrel user move` is refused as unavailable, never cached, until the freeze ends or lapses', async () => {
    const { auth, directory, advance } = await setup();
    await directory.setFrozenUntil('alice', new Date(1_000_000 + 5_000));
    assert.deepEqual(await auth.authenticate('alice', 'secret', '1.1.1.1'), { ok: false, reason: 'unavailable' });
    assert.equal(auth.cacheSize, 0);
    advance(5_001);
    assert.equal((await auth.authenticate('alice', 'secret', '1.1.1.1')).ok, true, 'a lapsed freeze lets the user in');
    await directory.setFrozenUntil('alice', null);
  });

  test('directory failure -> unavailable', async () => {
    const { auth, directory } = await setup();
    directory.failing = true;
    assert.deepEqual(await auth.authenticate('alice', 'secret', '1.1.1.1'), { ok: false, reason: 'unavailable' });
  });

  test('caches verified credentials for the TTL; invalidate() forgets them', async () => {
    const { auth, directory, advance } = await setup();
    await auth.authenticate('alice', 'secret', '1.1.1.1');
    assert.equal(directory.lookups, 1);
    await auth.authenticate('alice', 'secret', '1.1.1.1');
    assert.equal(directory.lookups, 1, 'second login served from cache');
    assert.equal(auth.cacheSize, 1);
    // A different password is never served from the cache.
    assert.equal((await auth.authenticate('alice', 'other', '1.1.1.1')).ok, false);
    advance(61_000);
    await auth.authenticate('alice', 'secret', '1.1.1.1');
    assert.equal(directory.lookups, 3, 'expired entry: looked up again');
    // Password change + invalidate: the old password stops working at once.
    await directory.setPassword('alice', await hashPassword('new', FAST));
    auth.invalidate('alice');
    assert.equal(auth.cacheSize, 0);
    assert.deepEqual(await auth.authenticate('alice', 'secret', '1.1.1.1'), { ok: false, reason: 'invalid' });
    assert.equal((await auth.authenticate('alice', 'new', '1.1.1.1')).ok, true);
  });

  test('throttles a user after N failures within the window, without verifying', async () => {
    const { auth, directory, advance } = await setup();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await auth.authenticate('alice', 'bad' + i, `10.0.0.${i}`), { ok: false, reason: 'invalid' });
    }
    const before = directory.lookups;
    assert.deepEqual(await auth.authenticate('alice', 'secret', '10.0.0.99'), { ok: false, reason: 'throttled' });
    assert.equal(directory.lookups, before, 'throttled: no lookup, no hashing');
    // Sliding window: the oldest failure leaves the window after 60 s.
    advance(60_001);
    assert.equal((await auth.authenticate('alice', 'secret', '10.0.0.99')).ok, true);
  });

  test('throttles an address after N failures across users', async () => {
    const { auth, advance } = await setup();
    for (const user of ['u1', 'u2', 'u3']) {
      assert.deepEqual(await auth.authenticate(user, 'x', '192.0.2.7'), { ok: false, reason: 'invalid' });
    }
    assert.deepEqual(await auth.authenticate('alice', 'secret', '192.0.2.7'), { ok: false, reason: 'throttled' });
    assert.equal((await auth.authenticate('alice', 'secret', '192.0.2.8')).ok, true, 'other addresses unaffected');
    advance(30_000);
    assert.deepEqual(await auth.authenticate('alice', 'secret', '192.0.2.7'), { ok: false, reason: 'throttled' });
    advance(30_001);
    assert.equal((await auth.authenticate('alice', 'secret', '192.0.2.7')).ok, true);
  });

  test('failures spread over more than the window never throttle', async () => {
    const { auth, advance } = await setup();
    for (let i = 0; i < 6; i++) {
      assert.deepEqual(await auth.authenticate('alice', 'bad', '10.1.1.1'), { ok: false, reason: 'invalid' });
      advance(25_000);
    }
  });
});
