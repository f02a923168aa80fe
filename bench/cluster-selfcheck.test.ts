// Checks of the bench's cluster helpers: clients spread over a cluster's
// servers, and the server CPU sampled around a point. Not part of `npm test`;
// run with:
//   node --import tsx --test bench/cluster-selfcheck.test.ts

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatCpuUse, startCpuSample } from './lib/cpu-sample.js';
import { serverFor, type Endpoint } from './lib/endpoint.js';

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
});
