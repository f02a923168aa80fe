// The worker's side of the supervisor channel: its start request (failed
// logins and the credential secret before it listens), answered or not.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { WorkerLink, type WorkerChannel } from '../../../src/cli/workers/worker-link.js';
import type { WorkerMessage } from '../../../src/cli/workers/messages.js';

/** An IPC channel whose sent messages are recorded; `emit('message', m)` is the supervisor speaking. */
class Channel extends EventEmitter implements WorkerChannel {
  readonly sent: WorkerMessage[] = [];
  send(message: WorkerMessage): void {
    this.sent.push(message);
  }
}

const limits = { perWindow: 5, windowSeconds: 60 };

test('start() sends hello and resolves with the secret the supervisor answers', async () => {
  const channel = new Channel();
  const link = new WorkerLink(channel, limits);
  const started = link.start();
  assert.deepEqual(channel.sent, [{ type: 'hello' }]);
  const secret = Buffer.alloc(32, 7);
  channel.emit('message', { type: 'start', failures: [], credentialKeySecret: secret.toString('base64') });
  assert.deepEqual((await started).credentialKeySecret, secret);
});

test('start() fails, saying why, when the supervisor does not answer (an older one that knows no hello)', async () => {
  const channel = new Channel();
  const link = new WorkerLink(channel, limits);
  await assert.rejects(link.start(50), /did not answer this worker's start request/);
  // A late answer is ignored.
  channel.emit('message', { type: 'start', failures: [], credentialKeySecret: Buffer.alloc(32).toString('base64') });
});
