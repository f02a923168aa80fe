// PgEventBus against a private PostgreSQL: events cross between buses (two
// "servers"), bursts are coalesced, our own notifications are not delivered
// twice, and the LISTEN connection comes back after being killed.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { PgEventBus } from '../../../src/cluster/pg-event-bus.js';
import { accountEventKey, mailboxEventKey } from '../../../src/mail/events.js';
import type { MailEvent } from '../../../src/mail/types.js';
import { startPostgres, type PostgresInstance } from '../../support/postgres.js';

let pg: PostgresInstance;
let url: string;

before(async () => {
  pg = await startPostgres();
  url = await pg.createDatabase();
});
after(() => pg.stop());

/** Collects events and resolves waiters when an event matching a predicate arrives. */
function collector(bus: PgEventBus) {
  const seen: MailEvent[] = [];
  const waiters: Array<{ match: (e: MailEvent) => boolean; resolve: () => void }> = [];
  bus.subscribe((e) => {
    seen.push(e);
    for (const w of [...waiters]) {
      if (w.match(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  return {
    seen,
    waitFor(match: (e: MailEvent) => boolean, ms = 10000): Promise<void> {
      if (seen.some(match)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`event not received within ${ms} ms; seen ${JSON.stringify(seen)}`)), ms);
        waiters.push({ match, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** Retries a condition (a poll with a deadline, not a timed wait). */
async function waitUntil(condition: () => Promise<boolean>, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Notifications sent while a listener is away are lost (polling heals that in
 * the server), so keep publishing until one arrives: a retry loop.
 */
async function publishUntilReceived(from: PgEventBus, to: ReturnType<typeof collector>, mailboxId: number): Promise<void> {
  let n = 0;
  let done = false;
  const arrived = to.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === mailboxId, 30000);
  void arrived.then(() => (done = true)).catch(() => (done = true));
  while (!done) {
    from.publish(changed(mailboxId, ++n));
    await from.flush();
    await Promise.race([arrived.catch(() => undefined), new Promise((r) => setTimeout(r, 100))]);
  }
  await arrived;
}

const changed = (mailboxId: number, modseq: number, repository = 'default'): MailEvent => ({
  kind: 'mailbox-changed',
  repository,
  accountId: 1,
  mailboxId,
  modseq,
});

describe('PgEventBus', () => {
  test('an event published on one server reaches the other once, and the publisher locally once', async () => {
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    try {
      const onA = collector(a);
      const onB = collector(b);
      a.publish(changed(7, 3));
      a.publish({ kind: 'account-changed', accountName: 'alice' });
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.modseq === 3);
      await onB.waitFor((e) => e.kind === 'account-changed' && e.accountName === 'alice');
      // A marker from B, published after: once A has it, A would have had its own echo too.
      b.publish(changed(99, 1));
      await onA.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 99);
      assert.equal(onA.seen.filter((e) => e.kind === 'mailbox-changed' && e.mailboxId === 7).length, 1);
      assert.equal(a.received, 1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a burst in one tick becomes one notification per mailbox carrying the highest modseq', async () => {
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    try {
      const onB = collector(b);
      for (let m = 1; m <= 100; m++) a.publish(changed(5, m));
      a.publish(changed(6, 2));
      a.publish(changed(6, 1)); // older: must not replace the newer one
      a.publish(changed(5, 0)); // the mailbox itself changed: kept apart
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 5 && e.modseq === 100);
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 6);
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 5 && e.modseq === 0);
      const of = (id: number) => onB.seen.filter((e) => e.kind === 'mailbox-changed' && e.mailboxId === id);
      assert.deepEqual(of(5).map((e) => (e as { modseq: number }).modseq).sort((x, y) => x - y), [0, 100]);
      assert.deepEqual(of(6).map((e) => (e as { modseq: number }).modseq), [2]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('received notifications reach keyed listeners by repository, mailbox and account name only', async () => {
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    try {
      const onB = collector(b);
      const keyed: MailEvent[] = [];
      const sub = b.subscribeKeys((e) => keyed.push(e), [mailboxEventKey('r1', 7), accountEventKey('alice')]);
      a.publish(changed(7, 2, 'r2')); // same id, other repository
      a.publish(changed(8, 2, 'r1'));
      a.publish({ kind: 'account-changed', accountName: 'bob' });
      a.publish(changed(7, 5, 'r1'));
      a.publish({ kind: 'account-changed', accountName: 'alice' });
      a.publish(changed(9, 1, 'marker'));
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 9);
      await onB.waitFor((e) => e.kind === 'account-changed' && e.accountName === 'alice');
      assert.deepEqual(keyed, [changed(7, 5, 'r1'), { kind: 'account-changed', accountName: 'alice' }]);
      // After unsubscribe nothing more arrives.
      sub.unsubscribe();
      a.publish(changed(7, 6, 'r1'));
      a.publish(changed(9, 2, 'marker'));
      await onB.waitFor((e) => e.kind === 'mailbox-changed' && e.mailboxId === 9 && e.modseq === 2);
      assert.equal(keyed.length, 2);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('a publish-only bus (the CLI) delivers on flush()', async () => {
    const server = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const cli = await PgEventBus.open({ url, listen: false });
    try {
      const onServer = collector(server);
      cli.publish({ kind: 'mailboxes-changed', repository: 'default', accountId: 42 });
      await cli.flush();
      await cli.close();
      await onServer.waitFor((e) => e.kind === 'mailboxes-changed' && e.accountId === 42);
    } finally {
      await cli.close();
      await server.close();
    }
  });

  test('the LISTEN connection is re-established after the database kills it', async () => {
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({ url, heartbeatSeconds: 0, connect: { applicationName: 'petrel-victim' } });
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    try {
      const onB = collector(b);
      const killed = await admin`SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = 'petrel-victim-listen'`;
      assert.equal(killed.length, 1, 'the listening backend was found and terminated');
      await publishUntilReceived(a, onB, 1);
      assert.ok(b.listens >= 2, `postgres.js re-issued LISTEN (listens = ${b.listens})`);
    } finally {
      await admin.end({ timeout: 1 });
      await a.close();
      await b.close();
    }
  });

  test('postgres.js re-LISTENs by itself even when the database refuses logins for a while', async () => {
    const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
    await admin.unsafe('CREATE ROLE deaf LOGIN');
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({
      url: url.replace('postgres@', 'deaf@'),
      heartbeatSeconds: 0,
      connect: { applicationName: 'petrel-deaf', connectTimeoutSeconds: 2 },
    });
    try {
      const onB = collector(b);
      await admin.unsafe('ALTER ROLE deaf NOLOGIN');
      const killed = await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'petrel-deaf-listen'`;
      assert.equal(killed.length, 1);
      // Wait until a reconnect attempt has been refused, then allow logins again.
      await waitUntil(async () => (await admin`SELECT 1 FROM pg_stat_activity WHERE application_name = 'petrel-deaf-listen'`).length === 0);
      await admin.unsafe('ALTER ROLE deaf LOGIN');
      await publishUntilReceived(a, onB, 3);
      assert.ok(b.listens >= 2, `listening again (listens = ${b.listens})`);
      assert.equal(b.rebuilds, 0, 'no heartbeat involved');
    } finally {
      await a.close();
      await b.close();
      await admin.end({ timeout: 1 });
    }
  });

  test('the heartbeat rebuilds a LISTEN connection that stopped delivering', async () => {
    const a = await PgEventBus.open({ url, heartbeatSeconds: 0 });
    const b = await PgEventBus.open({ url, heartbeatSeconds: 0.2 });
    try {
      const onB = collector(b);
      // Make the listening session deaf without closing it (a state postgres.js cannot
      // notice): UNLISTEN on that very connection, reached through postgres.js internals.
      const inner = (b as unknown as { listenSql: { listen: { sql: postgres.Sql } } }).listenSql.listen.sql;
      await inner.unsafe('UNLISTEN "petrel_events"');
      await publishUntilReceived(a, onB, 2);
      assert.ok(b.rebuilds >= 1, `rebuilt by the heartbeat (rebuilds = ${b.rebuilds})`);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
