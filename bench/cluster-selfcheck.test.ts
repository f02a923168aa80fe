// Checks of the bench's cluster helpers: clients spread over a cluster's
// servers, and the server CPU sampled around a point. Not part of `npm test`;
// run with:
//   node --import tsx --test bench/cluster-selfcheck.test.ts

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { formatCpuUse, startCpuSample, treeCpuMs } from './lib/cpu-sample.js';
import { openFileLimit } from '../test/support/proc.js';
import { serverFor, type Endpoint } from './lib/endpoint.js';
import { cannotHold } from './scenarios/idle-fanout.js';

function endpoint(extra: Partial<Endpoint>): Endpoint {
  return { name: 't', imap: { host: '127.0.0.1', port: 1000 }, lmtp: { host: '127.0.0.1', port: 2000 }, users: new Map(), ...extra };
}

/** Spins for `ms` of CPU time of this process (process.cpuUsage, not wall time). */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) break;
  }
  if (x < 0) throw new Error('unreachable');
}

/**
 * A child process that burns `ms` of CPU, says "ready", and on a line on its
 * stdin burns `ms` more and exits (reaped by this process: its times move to
 * this process's cutime/cstime).
 */
async function burningChild(ms: number): Promise<{ pid: number; finish: () => Promise<void> }> {
  const script = `
    const burn = (ms) => { const s = process.cpuUsage(); let x = 0;
      for (;;) { for (let i = 0; i < 10000; i++) x += Math.sqrt(i);
        const u = process.cpuUsage(s); if ((u.user + u.system) / 1000 >= ms) return x; } };
    burn(${ms}); process.stdout.write('ready\\n');
    process.stdin.once('data', () => { burn(${ms}); process.exit(0); });`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [first] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(first.toString().trim(), 'ready');
  return {
    pid: child.pid!,
    finish: async () => {
      const exited = once(child, 'exit');
      child.stdin!.write('go\n');
      await exited;
    },
  };
}

describe('serverFor', () => {
  test('one server: every client gets it', () => {
    const ep = endpoint({});
    assert.deepEqual(serverFor(ep, 0), { imap: ep.imap, lmtp: ep.lmtp });
    assert.deepEqual(serverFor(ep, 7), { imap: ep.imap, lmtp: ep.lmtp });
  });

  test('a cluster: client i gets server i mod n', () => {
    const servers = [1, 2, 3].map((n) => ({ imap: { host: '127.0.0.1', port: 1000 + n }, lmtp: { host: '127.0.0.1', port: 2000 + n } }));
    const ep = endpoint({ servers });
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => serverFor(ep, i).imap.port), [1001, 1002, 1003, 1001, 1002]);
  });
});

describe('startCpuSample', () => {
  test('an endpoint that names no processes is not sampled', async () => {
    assert.equal(await startCpuSample(endpoint({})), null);
  });

  test('counts the CPU the named processes used between the two samples, by group', async () => {
    const ep = endpoint({ cpuPids: async () => ({ self: [process.pid], gone: [2 ** 22 + 1] }) });
    const end = await startCpuSample(ep);
    assert.ok(end);
    burnCpu(200);
    const use = await end();
    // /proc counts in 10 ms ticks; other threads of this process add a little.
    assert.ok(use.groups.self!.cpuMs >= 150, `self used ${use.groups.self!.cpuMs} ms`);
    assert.ok(use.groups.self!.cpuMs <= use.wallMs + 100, `${use.groups.self!.cpuMs} ms of CPU in ${use.wallMs} ms`);
    assert.equal(use.groups.gone!.cpuMs, 0, 'a pid that does not exist counts 0');
    assert.match(formatCpuUse(use), /^self \d+ ms \(\d+ % of a core\), gone 0 ms \(0 % of a core\)$/);
  });

  test('a process tree counts a child that exited between the samples, from the first sample on only', async () => {
    const burn = 200;
    const child = await burningChild(burn);
    // The same process counted as a tree (with its children, exited ones too) and alone.
    const ep = endpoint({ cpuTrees: async () => ({ tree: [process.pid] }), cpuPids: async () => ({ alone: [process.pid] }) });
    const end = await startCpuSample(ep);
    assert.ok(end);
    await child.finish();
    const use = await end();
    const childMs = use.groups.tree!.cpuMs - use.groups.alone!.cpuMs;
    // The child's second burn (plus its exit), not its first one, which was before the first sample.
    assert.ok(childMs >= burn - 30, `the exited child counted ${childMs} ms`);
    assert.ok(childMs < 2 * burn - 30, `the child's CPU before the first sample counted too: ${childMs} ms`);
  });

  test('a process tree counts a live child', async () => {
    const child = await burningChild(150);
    const ep = endpoint({ cpuTrees: async () => ({ tree: [process.pid] }) });
    const t0 = treeCpuMs(process.pid);
    assert.ok(t0 >= 150 - 30, `the tree with a child that burnt 150 ms counts ${t0} ms`);
    const end = await startCpuSample(ep);
    assert.ok(end);
    const use = await end();
    assert.ok(use.groups.tree!.cpuMs < 150, `nothing burnt between the samples, yet ${use.groups.tree!.cpuMs} ms`);
    await child.finish();
  });

  test('a tree whose root does not exist counts 0', () => {
    assert.equal(treeCpuMs(2 ** 22 + 1), 0);
  });
});

describe('idle-fanout capacity of a multi-process server', () => {
  // This process stands for each connection holder: its own open-file limit (finite on Linux), counted once per holder.
  const soft = openFileLimit(process.pid).soft;
  const perProcess = soft - 100;

  test('one process: its own limit, less its own files', async () => {
    const ep = endpoint({ pid: process.pid });
    assert.equal(await cannotHold(ep, perProcess), null);
    assert.match((await cannotHold(ep, perProcess + 1)) ?? '', /^the server process may open \d+ files/);
  });

  test('workers: the limits of the processes that hold connections add up', async () => {
    const ep = endpoint({ pid: process.pid, connectionHolders: async () => [process.pid, process.pid, process.pid] });
    assert.equal(await cannotHold(ep, 3 * perProcess), null);
    assert.match((await cannotHold(ep, 3 * perProcess + 1)) ?? '', /^the 3 server processes that hold connections may open \d+ \+ \d+ \+ \d+ files/);
  });
});
