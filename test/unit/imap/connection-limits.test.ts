import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionCounter } from '../../../src/imap/connection-limits.js';

describe('ConnectionCounter', () => {
  test('limits connections in all and per address; a leave frees a slot of its address', () => {
    const c = new ConnectionCounter({ maxConnections: 3, maxConnectionsPerIp: 2, maxConnectionsPerUser: 9 });
    assert.equal(c.admit('10.0.0.1'), true);
    assert.equal(c.admit('10.0.0.1'), true);
    assert.equal(c.admit('10.0.0.1'), false, 'third from one address');
    assert.equal(c.admit('10.0.0.2'), true);
    assert.equal(c.admit('10.0.0.3'), false, 'fourth in all');
    assert.equal(c.connections, 3);
    c.leave('10.0.0.1');
    assert.equal(c.admit('10.0.0.3'), true);
    assert.equal(c.admit('10.0.0.1'), false, 'the total is full again');
  });

  test('a leave without an admit changes nothing', () => {
    const c = new ConnectionCounter({ maxConnections: 1, maxConnectionsPerIp: 1, maxConnectionsPerUser: 1 });
    c.leave('10.0.0.9');
    assert.equal(c.connections, 0);
    assert.equal(c.admit('10.0.0.1'), true);
    c.leave('10.0.0.9');
    assert.equal(c.connections, 1);
    assert.equal(c.admit('10.0.0.2'), false);
  });

  test('limits sessions per user; a release frees one', () => {
    const c = new ConnectionCounter({ maxConnections: 9, maxConnectionsPerIp: 9, maxConnectionsPerUser: 2 });
    assert.equal(c.acquireUser('ann'), true);
    assert.equal(c.acquireUser('ann'), true);
    assert.equal(c.acquireUser('ann'), false);
    assert.equal(c.acquireUser('bob'), true);
    c.releaseUser('ann');
    assert.equal(c.acquireUser('ann'), true);
    c.releaseUser('nobody');
    assert.equal(c.acquireUser('ann'), false);
  });
});
