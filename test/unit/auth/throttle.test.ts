// FailureWindow: the sliding window of failed logins, and the snapshot a
// restarted worker process gets from its supervisor.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureWindow } from '../../../src/auth/throttle.js';

test('a key is throttled at the limit within the window, and free again once its failures age out', () => {
  let now = 1_000;
  const w = new FailureWindow(3, 100, () => now);
  w.record('user:a');
  w.record('user:a');
  assert.equal(w.isThrottled('user:a'), false);
  w.record('user:a');
  assert.equal(w.isThrottled('user:a'), true);
  assert.equal(w.isThrottled('user:b'), false);
  now += 101;
  assert.equal(w.isThrottled('user:a'), false);
});

test('snapshot and merge: a new window takes the failures still in the window, without counting one twice', () => {
  let now = 1_000;
  const server = new FailureWindow(3, 100, () => now);
  server.record('ip:10.0.0.1');
  now += 60;
  server.record('ip:10.0.0.1');
  server.record('ip:10.0.0.1');
  server.record('user:b');
  now += 50; // the first failure of 10.0.0.1 is out of the window
  assert.deepEqual(server.snapshot(), [
    ['ip:10.0.0.1', [1_060, 1_060]],
    ['user:b', [1_060]],
  ]);

  const restarted = new FailureWindow(3, 100, () => now);
  restarted.record('user:b'); // seen by both: its own copy has another timestamp
  restarted.merge(server.snapshot());
  assert.equal(restarted.isThrottled('ip:10.0.0.1'), false, '2 of 3');
  restarted.record('ip:10.0.0.1');
  assert.equal(restarted.isThrottled('ip:10.0.0.1'), true);
  restarted.record('user:b');
  assert.equal(restarted.isThrottled('user:b'), false, 'user:b counted twice, not three times');
  now += 50;
  restarted.merge([['user:c', [now - 200]]]);
  assert.deepEqual(
    restarted.snapshot(),
    [
      ['ip:10.0.0.1', [1_110]],
      ['user:b', [1_110, 1_110]],
    ],
    'aged-out failures are dropped, and so is what came in already aged out',
  );
});
