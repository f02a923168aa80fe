// `petrel serve` with server.workers = 2 (src/cli/workers/): sessions on
// different worker processes see each other's changes, the CLI's changes
// reach every worker, connection limits and login throttling count for the
// whole server, and a worker that dies is replaced.
//
// Which worker serves a connection is Node's round robin: the test learns it
// from the server's log (every worker logs with its number, and a session's
// lines carry the client's port) and opens connections until it has one on
// each worker, so every assertion about "another worker" is about one.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type RunningServer } from './harness.js';
import { LmtpSession, RawImap } from './wire-clients.js';
import { waitFor } from '../support/postgres.js';

const WAIT_MS = 20_000;
const PASSWORD = 'secret';

interface LogEntry {
  msg?: string;
  worker?: number;
  port?: number;
  user?: string;
  reason?: string;
}

function entries(server: RunningServer): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of server.log) {
    try {
      out.push(JSON.parse(line) as LogEntry);
    } catch {
      // not JSON
    }
  }
  return out;
}

/** The worker that logged `msg` for the session of client `c` (found by its port). */
async function workerOf(server: RunningServer, c: RawImap, msg = 'connected'): Promise<number> {
  const port = c.socket.localPort;
  let found: number | undefined;
  await waitFor(
    () => {
      found = entries(server).find((e) => e.msg === msg && e.port === port)?.worker;
      return found !== undefined;
    },
    WAIT_MS,
    `a "${msg}" log line for client port ${port}`,
  );
  return found!;
}

/** Logged-in sessions of `user`, at least one on each of workers 1 and 2 (the others are closed). */
async function onEachWorker(server: RunningServer, user: string): Promise<Map<number, RawImap>> {
  const byWorker = new Map<number, RawImap>();
  for (let attempt = 0; attempt < 20 && byWorker.size < 2; attempt++) {
    const c = await RawImap.connect(server.imapPort);
    const worker = await workerOf(server, c);
    if (byWorker.has(worker)) {
      c.close();
      continue;
    }
    const r = await c.command(`LOGIN ${user} ${PASSWORD}`);
    assert.match(r.tagged, /^OK /);
    byWorker.set(worker, c);
  }
  assert.equal(byWorker.size, 2, 'round robin never gave a session to the second worker');
  return byWorker;
}

describe('petrel serve with two workers', () => {
  let server: RunningServer;
  const open: RawImap[] = [];
  before(async () => {
    server = await startServer({
      users: { alice: PASSWORD, bob: PASSWORD, carol: PASSWORD },
      env: {
        PETREL_SERVER_WORKERS: '2',
        PETREL_LOG_LEVEL: 'debug',
        PETREL_LIMITS_MAX_CONNECTIONS_PER_USER: '3',
        PETREL_METRICS_LISTEN: '127.0.0.1:0',
      },
    });
  });
  after(async () => {
    for (const c of open) c.close();
    await server?.cleanup();
  });

  test('one process supervises two workers; the listening lines are written once', () => {
    const listening = entries(server).filter((e) => e.msg === 'listening');
    assert.deepEqual(listening.map((e) => (e as { service?: string }).service).sort(), ['imap', 'lmtp', 'metrics']);
    assert.ok(entries(server).some((e) => e.msg === 'starting workers'));
  });

  test('GET /metrics, served by the supervisor, has every process: each worker and itself', async () => {
    const res = await fetch(`http://127.0.0.1:${server.metricsPort}/metrics`);
    assert.equal(res.status, 200);
    const text = await res.text();
    for (const worker of ['1', '2', 'supervisor'])
      assert.match(text, new RegExp(`^process_resident_memory_bytes\\{worker="${worker}"\\} [1-9]\\d*$`, 'm'), worker);
    assert.equal(text.match(/^# TYPE process_resident_memory_bytes gauge$/gm)?.length, 1, 'declared once');
  });

  test('a change through one worker reaches IDLE on the other; LMTP and the CLI reach both', async () => {
    const sessions = await onEachWorker(server, 'alice');
    const one = sessions.get(1)!;
    const two = sessions.get(2)!;
    open.push(one, two);
    for (const c of [one, two]) assert.match((await c.command('SELECT INBOX')).tagged, /^OK/);

    // APPEND through worker 2, IDLE on worker 1.
    let tag = await one.idle();
    const message = 'Subject: from two\r\n\r\nhello\r\n';
    assert.match((await two.command(`APPEND INBOX {${message.length}+}\r\n${message}`)).tagged, /^OK \[APPENDUID/);
    await one.idleUntil((l) => l === '* 1 EXISTS', WAIT_MS);
    one.socket.write('DONE\r\n');
    assert.match((await one.collect(tag)).tagged, /^OK/);

    // STORE through worker 1, IDLE on worker 2 (which saw its own APPEND already).
    assert.match((await two.command('NOOP')).tagged, /^OK/);
    tag = await two.idle();
    assert.match((await one.command('STORE 1 +FLAGS (\\Flagged)')).tagged, /^OK/);
    await two.idleUntil((l) => /^\* 1 FETCH \(.*\\Flagged/.test(l), WAIT_MS);
    two.socket.write('DONE\r\n');
    assert.match((await two.collect(tag)).tagged, /^OK/);

    // An LMTP delivery (served by either worker) and a CLI delivery (the control socket is the supervisor's): both IDLE sessions see each.
    const tags = [await one.idle(), await two.idle()];
    const lmtp = await LmtpSession.connect(server.lmtpPort);
    assert.match(await lmtp.deliver('sender@example.test', 'alice@example.test', Buffer.from('Subject: by lmtp\r\n\r\nhi\r\n')), /^250/);
    lmtp.close();
    await Promise.all([one, two].map((c) => c.idleUntil((l) => l === '* 2 EXISTS', WAIT_MS)));
    const cli = await server.cli(['deliver', 'alice'], 'Subject: by the CLI\r\n\r\nhi\r\n');
    assert.equal(cli.code, 0, cli.stderr);
    await Promise.all([one, two].map((c) => c.idleUntil((l) => l === '* 3 EXISTS', WAIT_MS)));
    for (const [i, c] of [one, two].entries()) {
      c.socket.write('DONE\r\n');
      assert.match((await c.collect(tags[i]!)).tagged, /^OK/);
    }
  });

  test('the per-user limit counts the sessions of every worker', async () => {
    // limits.max_connections_per_user = 3: bob's first three sessions, wherever they are, use it up.
    const sessions: RawImap[] = [];
    const workers = new Set<number>();
    for (let i = 0; i < 3; i++) {
      const c = await RawImap.login(server.imapPort, 'bob', PASSWORD);
      sessions.push(c);
      workers.add(await workerOf(server, c));
    }
    open.push(...sessions);
    // Tried on fresh connections until one lands on each worker: neither may let a fourth in.
    const refusedOn = new Set<number>();
    for (let attempt = 0; attempt < 20 && refusedOn.size < 2; attempt++) {
      const c = await RawImap.connect(server.imapPort);
      const r = await c.command(`LOGIN bob ${PASSWORD}`);
      assert.match(r.tagged, /^NO \[LIMIT\]/);
      refusedOn.add(await workerOf(server, c));
      c.close();
    }
    assert.equal(refusedOn.size, 2, 'round robin never sent a refused login to the second worker');
    // One session leaves: the next login is let in, on whichever worker.
    const leaving = sessions.pop()!;
    await leaving.command('LOGOUT');
    leaving.close();
    await waitFor(
      async () => {
        const c = await RawImap.connect(server.imapPort);
        const ok = (await c.command(`LOGIN bob ${PASSWORD}`)).tagged.startsWith('OK');
        if (ok) open.push(c);
        else c.close();
        return ok;
      },
      WAIT_MS,
      'a fourth login of bob after one of three logged out',
    );
  });

  test('a worker that dies is replaced, and the server goes on serving', async () => {
    const sessions = await onEachWorker(server, 'carol');
    const pid = workerPid(server, 2);
    assert.ok(Number.isInteger(pid) && pid > 0, `worker 2's pid from the log: ${pid}`);
    const startedBefore = entries(server).filter((e) => e.msg === 'worker ready' && e.worker === 2).length;
    process.kill(pid, 'SIGKILL');
    // Its session is gone; the other worker's is not.
    await assert.rejects(sessions.get(2)!.command('NOOP'));
    assert.match((await sessions.get(1)!.command('NOOP')).tagged, /^OK/);
    open.push(sessions.get(1)!);
    await waitFor(
      () => entries(server).filter((e) => e.msg === 'worker ready' && e.worker === 2).length > startedBefore,
      WAIT_MS,
      'worker 2 started again',
    );
    // The dead worker's slots were given back: carol (limit 3) can log in twice more.
    await onEachWorker(server, 'carol').then((m) => open.push(...m.values()));
  });

  test('failed logins on one worker throttle logins on the other, and on a worker started again', async () => {
    // Last: it throttles 127.0.0.1. limits.auth_failures_per_window defaults to 5.
    for (let i = 0; i < 5; i++) {
      const c = await RawImap.connect(server.imapPort);
      assert.match((await c.command('LOGIN alice wrong')).tagged, /^NO \[AUTHENTICATIONFAILED\]/);
      c.close();
    }
    // The right password is now refused on both workers: five failures in all, so at least one of them saw fewer itself.
    const throttledOn = new Set<number>();
    for (let attempt = 0; attempt < 20 && throttledOn.size < 2; attempt++) {
      const c = await RawImap.connect(server.imapPort);
      assert.match((await c.command(`LOGIN alice ${PASSWORD}`)).tagged, /^NO \[UNAVAILABLE\] Too many failed attempts/);
      throttledOn.add(await workerOf(server, c));
      c.close();
    }
    assert.equal(throttledOn.size, 2, 'round robin never sent a login to the second worker');

    // A worker started again gets the record from the supervisor: still refused there.
    const startedBefore = entries(server).filter((e) => e.msg === 'worker ready' && e.worker === 2).length;
    process.kill(workerPid(server, 2), 'SIGKILL');
    await waitFor(
      () => entries(server).filter((e) => e.msg === 'worker ready' && e.worker === 2).length > startedBefore,
      WAIT_MS,
      'worker 2 started again',
    );
    let onRestarted = false;
    for (let attempt = 0; attempt < 20 && !onRestarted; attempt++) {
      const c = await RawImap.connect(server.imapPort);
      const worker = await workerOf(server, c);
      assert.match((await c.command(`LOGIN alice ${PASSWORD}`)).tagged, /^NO \[UNAVAILABLE\] Too many failed attempts/, `worker ${worker}`);
      onRestarted = worker === 2;
      c.close();
    }
    assert.ok(onRestarted, 'round robin never sent a login to the restarted worker');
  });
});

/** A worker's pid, from its "worker ready" log line (the last one: a restarted worker logs again). */
function workerPid(server: RunningServer, worker: number): number {
  const ready = entries(server).filter((e) => e.msg === 'worker ready' && e.worker === worker);
  return (ready.at(-1) as { pid?: number } | undefined)?.pid ?? NaN;
}
