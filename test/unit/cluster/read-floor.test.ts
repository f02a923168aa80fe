// ReadFloor (when a replica may serve a reader's metadata) and WAL position parsing.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatLsn, parseLsn } from '../../../src/cluster/replicas.js';
import { ReadFloor } from '../../../src/store/postgres/read-routing.js';

test('parseLsn reads PostgreSQL pg_lsn text as a 64-bit number, formatLsn writes it back', () => {
  assert.equal(parseLsn('0/0'), 0n);
  assert.equal(parseLsn('16/B374D848'), (0x16n << 32n) | 0xb374d848n);
  assert.equal(parseLsn('FFFFFFFF/FFFFFFFF'), 2n ** 64n - 1n);
  assert.equal(formatLsn(parseLsn('16/B374D848')!), '16/B374D848');
  for (const bad of [null, undefined, '', '16', '16/', '/1', 'G/1', '1/2/3', '123456789/0']) assert.equal(parseLsn(bad), null);
});

test('a new floor is stale: the first read goes to the primary', () => {
  assert.equal(new ReadFloor().stale, true);
});

test('a primary read settles the floor at the WAL position seen after it', () => {
  const floor = new ReadFloor();
  floor.settle(floor.begin(), 100n);
  assert.equal(floor.stale, false);
  assert.equal(floor.lsn, 100n);
});

test('a write during a primary read keeps the floor stale (the read may not show it)', () => {
  const floor = new ReadFloor();
  const generation = floor.begin();
  floor.markStale();
  floor.settle(generation, 200n);
  assert.equal(floor.stale, true);
  assert.equal(floor.lsn, 200n);
  floor.settle(floor.begin(), 300n);
  assert.equal(floor.stale, false);
});

test('the floor never moves back', () => {
  const floor = new ReadFloor();
  floor.settle(floor.begin(), 500n);
  floor.markStale();
  floor.settle(floor.begin(), 400n);
  assert.equal(floor.lsn, 500n);
});
