// The fail-over run shared by test/e2e/failover.test.ts (pg_ctl promote) and
// test/e2e/failover-patroni.test.ts (Patroni promotes): a real `petrel serve`
// over a repository reached through a multi-host URL with
// target_session_attrs=primary. Concurrent LMTP connections deliver
// messages; when half are acknowledged the primary is killed with kill -9 and
// a standby becomes primary (by whatever the FailoverCluster does). The LMTP
// clients retry 4xx as an MTA would, so deliveries continue after the switch
// without restarting the server. Afterwards every message is counted by
// Message-ID through an IMAP session connected throughout, and a session in
// IDLE throughout must have seen every delivery, including those after the
// switch.
//
// A delivery whose COMMIT was in flight when the primary died has an unknown
// outcome: the server answers 451 and the MTA sends it again, so such a
// message may be stored twice (SMTP's at-least-once); counted separately.
// With synchronous replication every message that got 250 must be there;
// asynchronous: acknowledged messages may be lost, only ones begun before the
// crash, and their number is reported.

import assert from 'node:assert/strict';
import { runCli, startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';
import { PatroniCluster, type PatroniOptions } from '../support/patroni.js';
import { ReplicatedPostgres, type ReplicationMode } from '../support/replication.js';

/** A repository whose primary can be lost, and whatever makes another node primary. */
export interface FailoverCluster {
  /** Creates the mail database on the primary; returns its multi-host URL (target_session_attrs=primary). */
  createDatabase(): Promise<string>;
  /** Waits until the standbys have replayed everything written so far. */
  waitForReplay(): Promise<void>;
  /** kill -9 of the primary; resolves when its processes are gone. */
  crashPrimary(): Promise<void>;
  /** Resolves when another node takes writes: promotes one (pg_ctl), or waits for the fail-over manager to. */
  newPrimary(): Promise<void>;
  /** Stops and removes everything. */
  stop(): Promise<void>;
}

/** A primary and one streaming standby; after the crash (and `promoteDelayMs`), pg_ctl promote of the standby. */
export async function promotedByPgCtl(mode: ReplicationMode, promoteDelayMs = 0): Promise<FailoverCluster> {
  const pg = await ReplicatedPostgres.start({ mode });
  return {
    createDatabase: () => pg.createDatabase(),
    waitForReplay: () => pg.waitForReplay(),
    crashPrimary: async () => void (await pg.crashPrimary()),
    newPrimary: async () => {
      if (promoteDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, promoteDelayMs));
      await pg.promote();
    },
    stop: () => pg.stop(),
  };
}

/**
 * A Patroni cluster (test/support/patroni.ts; synchronous_mode for 'sync').
 * The crash is the loss of the leader's machine (kill -9 of its Patroni and
 * PostgreSQL); nobody promotes but Patroni, and newPrimary() only waits for it.
 */
export async function promotedByPatroni(mode: ReplicationMode, options: PatroniOptions = {}): Promise<FailoverCluster> {
  const cluster = await PatroniCluster.start({ nodes: 2, ...options, synchronousMode: mode === 'sync' });
  return {
    createDatabase: () => cluster.createDatabase(),
    waitForReplay: () => cluster.waitForReplay(),
    crashPrimary: async () => void (await cluster.crashLeader()),
    newPrimary: async () => void (await cluster.waitForNewLeader()),
    stop: () => cluster.stop(),
  };
}

export interface FailoverRunOptions {
  /** For the diagnostics. */
  label: string;
  /** Synchronous replication: assert that nothing acknowledged is lost. */
  synchronous: boolean;
  deliveries: number;
  connections: number;
  /** A delivery not accepted within this time fails the run. */
  deliveryDeadlineMs: number;
  /**
   * A new primary comes within the server's connect timeout, so a delivery
   * whose COMMIT was in flight is retried by the server itself (append
   * tokens): assert that no message is stored twice. (A later primary makes
   * the server answer 451, and the MTA's new attempt may store it again.)
   */
  exactlyOnce?: boolean;
}

const WAIT_MS = 30_000;

function messageId(i: number): string {
  return `<failover-${i}@test.example>`;
}

function mail(i: number): Buffer {
  return Buffer.from(
    `From: sender@example.net\r\nTo: alice@example.org\r\nSubject: delivery ${i}\r\nMessage-ID: ${messageId(i)}\r\n\r\nBody of delivery ${i}\r\n`,
  );
}

/** What happened to one message on the LMTP side. */
interface Outcome {
  acked: boolean;
  /** Replies other than 250 before the 250 (4xx, or a connection lost mid-transaction). */
  tempFailures: number;
  /** When the 250 came (performance.now()). */
  ackedAt: number;
  /** When the attempt that got the 250 began. */
  attemptAt: number;
}

/** The BYE that ends the sessions of a mailbox given a new UIDVALIDITY (rollback found). */
const endedByRollback = (line: string): boolean => /^\* BYE .*UIDVALIDITY/.test(line);

/**
 * Message-ID -> how many stored copies, read through IMAP; null when the
 * mailbox was given a new UIDVALIDITY (a rollback found) between the SELECT
 * and the FETCH: its sessions end and it must be read again in a new one.
 */
async function storedMessageIds(c: RawImap): Promise<Map<string, number> | string> {
  let headers = '';
  const r = await c.command('UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])', (size, reader) =>
    reader.bytes(size, (chunk) => (headers += chunk.toString('latin1'))),
  );
  // What ended the count, for the diagnostic: the session's BYE, or the tagged NO.
  const bye = r.untagged.find(endedByRollback);
  if (bye) return bye;
  if (/^NO \[NONEXISTENT\]/.test(r.tagged)) return r.tagged;
  assert.match(r.tagged, /^OK /);
  const counts = new Map<string, number>();
  for (const id of headers.match(/<failover-\d+@test\.example>/g) ?? []) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

/** Runs the whole scenario on `pg` (stopped at the end, also on failure); assertions throw. */
export async function failoverRun(
  pg: FailoverCluster,
  options: FailoverRunOptions,
  t: { diagnostic(msg: string): void },
): Promise<void> {
  let server: RunningServer | null = null;
  try {
    const started = await startPetrel(pg);
    server = started.server;
    await deliverThroughFailover(pg, server, started.cliEnv, options, t);
  } finally {
    await server?.cleanup().catch(() => undefined);
    await pg.stop();
  }
}

/**
 * Creates the mail database on the cluster's primary, migrates it and adds
 * alice/secret; returns the server environment (plus `extraEnv`) and the env
 * for `petrel` commands on the same repository.
 */
export async function preparePetrelDatabase(
  pg: { createDatabase(): Promise<string> },
  extraEnv: Record<string, string> = {},
): Promise<{ env: Record<string, string>; cliEnv: NodeJS.ProcessEnv }> {
  const url = await pg.createDatabase();
  const env: Record<string, string> = {
    PETREL_STORAGE_BACKEND: 'postgres',
    PETREL_STORAGE_POSTGRES_URL: url,
    PETREL_STORAGE_POSTGRES_CONNECT_TIMEOUT_SECONDS: '5',
    PETREL_STORAGE_FSYNC: 'false',
    PETREL_IMAP_IDLE_POLL_SECONDS: '2',
    PETREL_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const cliEnv = { ...process.env, ...env, PETREL_DATA_DIR: '/nonexistent-petrel' };
  for (const args of [['db', 'migrate'], ['user', 'add', 'alice', '--password', 'secret']]) {
    const r = await runCli(cliEnv, args);
    assert.equal(r.code, 0, r.stderr);
  }
  return { env, cliEnv };
}

/** preparePetrelDatabase(), then `petrel serve` on it once the standbys have it. */
export async function startPetrel(
  pg: FailoverCluster,
  extraEnv: Record<string, string> = {},
): Promise<{ server: RunningServer; cliEnv: NodeJS.ProcessEnv }> {
  const { env, cliEnv } = await preparePetrelDatabase(pg, extraEnv);
  await pg.waitForReplay();
  return { server: await startServer({ env }), cliEnv };
}

async function deliverThroughFailover(
  pg: FailoverCluster,
  server: RunningServer,
  cliEnv: NodeJS.ProcessEnv,
  { label, synchronous, exactlyOnce, deliveries, connections, deliveryDeadlineMs }: FailoverRunOptions,
  t: { diagnostic(msg: string): void },
): Promise<void> {
  // An IMAP session that stays connected throughout, and one in IDLE.
  const imap = await RawImap.connect(server.imapPort);
  const idler = await RawImap.connect(server.imapPort);
  for (const c of [imap, idler]) {
    assert.match((await c.command('LOGIN alice secret')).tagged, /^OK /);
    assert.match((await c.command('SELECT INBOX')).tagged, /^OK /);
  }
  const idleTag = idler.nextTag();
  idler.socket.write(`${idleTag} IDLE\r\n`);
  assert.equal(await idler.reader.line(), '+ idling');

  const outcomes: Outcome[] = Array.from({ length: deliveries }, () => ({ acked: false, tempFailures: 0, ackedAt: 0, attemptAt: 0 }));
  let next = 0;
  let acked = 0;
  let killedAt = 0;
  /** Every process of the old primary is gone: nothing begun after this can commit there. */
  let crashedAt = 0;
  let promotedAt = 0;
  let failover: Promise<void> | null = null;
  /** The longest a single delivery attempt waited for its reply (reported: how long the server held a delivery while no primary existed). */
  let longestAttemptMs = 0;
  const started = performance.now();

  // The fail-over, started by the delivery that makes half of them acknowledged.
  const crashAndPromote = async (): Promise<void> => {
    killedAt = performance.now();
    await pg.crashPrimary();
    crashedAt = performance.now();
    await pg.newPrimary();
    promotedAt = performance.now();
  };

  const deliverer = async (): Promise<void> => {
    let session: LmtpSession | null = null;
    while (next < deliveries) {
      const i = next++;
      const outcome = outcomes[i]!;
      while (!outcome.acked) {
        if (performance.now() - started > deliveryDeadlineMs) throw new Error(`delivery ${i} not accepted within ${deliveryDeadlineMs} ms`);
        try {
          session ??= await LmtpSession.connect(server.lmtpPort);
          outcome.attemptAt = performance.now();
          const reply = await session.deliver('sender@example.net', 'alice@example.org', mail(i));
          longestAttemptMs = Math.max(longestAttemptMs, performance.now() - outcome.attemptAt);
          if (reply.startsWith('250')) {
            outcome.acked = true;
            outcome.ackedAt = performance.now();
            if (++acked === Math.floor(deliveries / 2)) failover = crashAndPromote();
          } else {
            assert.match(reply, /^4\d\d /, `delivery ${i}: only temporary failures are expected: ${reply}`);
            outcome.tempFailures++;
            // An MTA retries later; a short pause keeps the loop from spinning while no primary exists.
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        } catch (err) {
          if (err instanceof assert.AssertionError) throw err;
          // The LMTP connection itself was lost (it should not be): count it and reconnect, as an MTA would.
          outcome.tempFailures++;
          session?.close();
          session = null;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    session?.close();
  };
  await Promise.all(Array.from({ length: connections }, deliverer));
  const elapsed = performance.now() - started;
  assert.ok(failover, 'the fail-over happened midway');
  await failover;
  assert.equal(server.process.exitCode, null, 'the server survived the fail-over');

  const firstAfter = Math.min(...outcomes.filter((o) => o.ackedAt > promotedAt).map((o) => o.ackedAt));
  const tempFailed = outcomes.filter((o) => o.tempFailures > 0).length;
  t.diagnostic(
    `${label}: ${deliveries} deliveries over ${connections} connections in ${(elapsed / 1000).toFixed(1)} s; ` +
      `kill -9 -> promoted in ${(promotedAt - killedAt).toFixed(0)} ms, -> first 250 on the new primary in ` +
      `${(firstAfter - killedAt).toFixed(0)} ms; ${tempFailed} deliveries got a 4xx first; ` +
      `longest wait for one LMTP reply ${longestAttemptMs.toFixed(0)} ms`,
  );

  // The IDLE session, connected throughout, hears of every stored message, including those after the switch.
  // Unless (asynchronous mode only) the new primary lost changes it saw: then INBOX has a new UIDVALIDITY
  // and the sessions connected throughout end with BYE (README "Transactions lost at a fail-over").
  const fresh = await RawImap.login(server.imapPort, 'alice', 'secret');
  const status = await fresh.command('STATUS INBOX (MESSAGES)');
  fresh.close();
  assert.match(status.tagged, /^OK /);
  const messages = Number(/MESSAGES (\d+)/.exec(status.untagged.join('\n'))?.[1]);
  const idled = await idler.idleUntil((line) => line === `* ${messages} EXISTS` || endedByRollback(line), WAIT_MS);
  const idlerEnded = endedByRollback(idled.at(-1)!);
  if (!idlerEnded) {
    idler.socket.write('DONE\r\n');
    assert.match((await idler.collect(idleTag)).tagged, /^OK /);
  }
  // The other session, connected throughout, still works (or ends as the IDLE one did).
  const noopTag = imap.nextTag();
  imap.socket.write(`${noopTag} NOOP\r\n`);
  let noop = await imap.reader.line();
  while (!noop.startsWith(`${noopTag} `) && !endedByRollback(noop)) noop = await imap.reader.line();
  assert.equal(endedByRollback(noop), idlerEnded, `both sessions connected throughout end, or neither: ${noop}`);
  if (!idlerEnded) assert.match(noop, new RegExp(`^${noopTag} OK `));
  if (idlerEnded) t.diagnostic(`${label}: INBOX lost changes the sessions saw: new UIDVALIDITY, both sessions got BYE`);
  assert.ok(!synchronous || !idlerEnded, 'synchronous replication: no new UIDVALIDITY, the sessions go on');
  // Counted by Message-ID through a new session (those connected throughout may have ended, above).
  // A rollback check may still be giving INBOX a new UIDVALIDITY while the
  // first counting session reads it (asynchronous mode): then count again.
  let stored: Map<string, number> | null = null;
  for (let attempt = 1; stored === null; attempt++) {
    assert.ok(attempt <= 3, 'INBOX could be read whole within 3 sessions');
    const counter = await RawImap.login(server.imapPort, 'alice', 'secret');
    let read: Map<string, number> | string;
    try {
      assert.match((await counter.command('SELECT INBOX')).tagged, /^OK /);
      read = await storedMessageIds(counter);
    } finally {
      counter.close();
    }
    if (typeof read === 'string') t.diagnostic(`${label}: INBOX got a new UIDVALIDITY while it was counted (${read}); counted again`);
    else stored = read;
    assert.ok(!synchronous || stored !== null, 'synchronous replication: no new UIDVALIDITY while counting');
  }
  const missing: number[] = [];
  const duplicatedClean: number[] = [];
  const duplicatedRetried: number[] = [];
  outcomes.forEach((o, i) => {
    const copies = stored.get(messageId(i)) ?? 0;
    if (copies === 0) missing.push(i);
    if (copies > 1) (o.tempFailures > 0 ? duplicatedRetried : duplicatedClean).push(i);
  });
  t.diagnostic(
    `${label}: ${missing.length} acknowledged messages lost (${missing.slice(0, 10).join(', ')}); ` +
      `${duplicatedRetried.length} retried after an unknown outcome stored twice`,
  );
  assert.deepEqual(duplicatedClean, [], 'a message acknowledged at its first attempt is stored once');
  if (exactlyOnce)
    assert.deepEqual(duplicatedRetried, [], 'a delivery whose COMMIT was in flight is stored once (append tokens)');
  if (synchronous) {
    assert.deepEqual(missing, [], 'synchronous replication: no acknowledged message is lost');
  } else {
    // Lost messages can only be ones committed on the old primary, just before the crash.
    for (const i of missing) assert.ok(outcomes[i]!.attemptAt < crashedAt, `message ${i}, sent after the crash, is lost`);
  }
  // Deliveries after the switch landed on the new primary and are stored.
  const afterSwitch = outcomes.map((o, i) => (o.ackedAt > promotedAt ? i : -1)).filter((i) => i >= 0);
  assert.ok(afterSwitch.length > 0, 'deliveries continued after the switch');
  for (const i of afterSwitch) assert.ok((stored.get(messageId(i)) ?? 0) >= 1, `delivery ${i} after the switch is stored`);

  // The database written through the fail-over is consistent.
  const check = await runCli(cliEnv, ['check']);
  assert.equal(check.code, 0, `petrel check: ${check.stdout}\n${check.stderr}`);
  imap.close();
  idler.close();
}
