// A worker process of `petrel serve` (server.workers > 1) that starts, or
// starts again after a crash, listens only once it has the supervisor's
// record of failed logins: there is no moment in which its login throttle is
// empty, which a brute-forcer could use by making a worker crash. The
// supervisor runs in this process (WorkerSupervisor), the workers are the
// real `petrel serve`; the test holds every message the supervisor sends to
// the restarted worker and checks, while it holds them, that nothing
// listens on the IMAP port. The secret of the credential cache's keys
// (src/auth/authenticator.ts) comes the same way: the same for every worker
// of the run, and neither in a worker's command line nor in its environment.

import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { WorkerSupervisor } from '../../src/cli/workers/supervisor.js';
import type { SupervisorMessage, WorkerMessage } from '../../src/cli/workers/messages.js';
import { defaultConfig } from '../../src/config/index.js';
import type { PetrelConfig } from '../../src/config/types.js';
import { silentLogger } from '../../src/util/log.js';
import { freePort } from '../support/postgres.js';
import { runCli } from './harness.js';
import { RawImap } from './wire-clients.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WAIT_MS = 20_000;

/** Resolves when a TCP connection to `port` is refused, with true; with false when one is accepted. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolvePromise, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolvePromise(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNREFUSED' ? resolvePromise(true) : reject(err)));
  });
}

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

test('a worker started again listens only once it has the record of failed logins; every worker gets the same secret, not through argv or env', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'petrel-worker-start-'));
  const imapPort = await freePort();
  const workerEnv: Record<string, string> = {
    PETREL_DATA_DIR: dataDir,
    PETREL_IMAP_LISTEN: `127.0.0.1:${imapPort}`,
    PETREL_LMTP_LISTEN: '127.0.0.1:0',
    PETREL_ALLOW_PLAINTEXT_AUTH: 'true',
    PETREL_LOG_LEVEL: 'info',
  };
  const added = await runCli({ ...process.env, ...workerEnv }, ['user', 'add', 'alice', '--password', 'secret']);
  assert.equal(added.code, 0, added.stderr);
  // cluster.fork() gives a worker this process's environment (and PETREL_WORKER_ID).
  Object.assign(process.env, workerEnv);
  cluster.setupPrimary({ exec: join(ROOT, 'src', 'cli', 'run.ts'), args: ['serve'], execArgv: ['--import', 'tsx'], silent: true });

  const workerLog: string[] = [];
  const forks: Worker[] = [];
  const sentTo = new Map<Worker, SupervisorMessage[]>();
  // The restarted worker's messages are held until `release()`.
  const held: Array<() => void> = [];
  let holding = false;
  let firstHeld: () => void = () => {};
  const somethingHeld = new Promise<void>((r) => (firstHeld = r));
  const release = (): void => {
    holding = false;
    for (const send of held.splice(0)) send();
  };
  cluster.on('fork', (worker) => {
    forks.push(worker);
    worker.process.stderr?.setEncoding('utf8').on('data', (d: string) => workerLog.push(d));
    worker.process.stdout?.resume();
    const messages: SupervisorMessage[] = [];
    sentTo.set(worker, messages);
    const send = worker.send.bind(worker) as (m: SupervisorMessage) => boolean;
    const hold = forks.length === 2;
    worker.send = ((message: SupervisorMessage) => {
      messages.push(message);
      if (hold && holding) {
        held.push(() => send(message));
        firstHeld();
        return true;
      }
      return send(message);
    }) as typeof worker.send;
    if (hold) holding = true;
  });
  let failuresHeard = 0;
  let failuresRecorded: () => void = () => {};
  const tenFailures = new Promise<void>((r) => (failuresRecorded = r));
  const readyFrom = new Map<Worker, () => void>();
  cluster.on('message', (worker, message: WorkerMessage) => {
    if (message.type === 'auth-failure' && ++failuresHeard === 10) failuresRecorded();
    if (message.type === 'ready') readyFrom.get(worker)?.();
  });

  const config: PetrelConfig = { ...defaultConfig(), dataDir, server: { workers: 1 } };
  const supervisor = new WorkerSupervisor({ config, logger: silentLogger, onListening: () => {} });
  try {
    await supervisor.start();
    // Five failed logins (limits.auth_failures_per_window defaults to 5): "user:alice" and "ip:127.0.0.1" each.
    for (let i = 0; i < 5; i++) {
      const c = await RawImap.connect(imapPort);
      assert.match((await c.command('LOGIN alice wrong')).tagged, /^NO \[AUTHENTICATIONFAILED\]/);
      c.close();
    }
    // Recorded by the supervisor (its handler runs in the same emit, after this listener).
    await within(tenFailures, 'the worker to report its 10 failures');
    await new Promise((r) => setImmediate(r));

    const first = forks[0]!;
    first.process.kill('SIGKILL');
    await within(somethingHeld, 'the supervisor to send something to the restarted worker');
    const second = forks[1]!;
    assert.ok(await refused(imapPort), 'the restarted worker listens before it has the record of failed logins');

    const ready = new Promise<void>((r) => readyFrom.set(second, r));
    release();
    await within(ready, 'the restarted worker to listen');
    const c = await RawImap.connect(imapPort);
    assert.match((await c.command('LOGIN alice secret')).tagged, /^NO \[UNAVAILABLE\] Too many failed attempts/);
    c.close();

    // The credential cache's secret: the same for both workers of this run, given over the IPC channel only.
    const secrets = forks.map((w) => sentTo.get(w)!.find((m) => m.type === 'start'));
    assert.ok(secrets.every((m) => m !== undefined), 'a start message to each worker');
    const [one, two] = secrets.map((m) => (m as Extract<SupervisorMessage, { type: 'start' }>).credentialKeySecret);
    assert.equal(one, two);
    assert.equal(Buffer.from(one!, 'base64').length, 32);
    const pid = second.process.pid!;
    for (const file of ['cmdline', 'environ']) {
      const text = await readFile(`/proc/${pid}/${file}`, 'latin1');
      assert.ok(!text.includes(one!) && !text.includes(Buffer.from(one!, 'base64').toString('hex')), `the secret is in /proc/<pid>/${file}`);
    }
  } catch (err) {
    (err as Error).message += `\nworker log:\n${workerLog.join('')}`;
    throw err;
  } finally {
    release();
    await supervisor.stop();
    cluster.removeAllListeners('fork');
    cluster.removeAllListeners('message');
    for (const name of Object.keys(workerEnv)) delete process.env[name];
    await rm(dataDir, { recursive: true, force: true });
  }
});
