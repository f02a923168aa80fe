// InProcessEventBus: all-events and keyed subscriptions, key changes,
// unsubscribe between publish and delivery, and that a publish reaches only
// the listeners of its key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  accountEventKey,
  eventKey,
  InProcessEventBus,
  mailboxEventKey,
  mailboxListEventKey,
  publishRightsChanged,
  rightsEventKey,
} from '../../../src/mail/events.js';
import { parseMailEvent } from '../../../src/mail/control-socket.js';
import type { MailEvent } from '../../../src/mail/types.js';

const changed = (repository: string, mailboxId: number, modseq = 1): MailEvent => ({
  kind: 'mailbox-changed',
  repository,
  accountId: 1,
  mailboxId,
  modseq,
});

/** Listeners run on a microtask after publish: one macrotask later they all ran. */
const delivered = () => new Promise<void>((resolve) => setImmediate(resolve));

test('every event has the key its subscribers use', () => {
  assert.equal(eventKey(changed('r1', 7)), mailboxEventKey('r1', 7));
  assert.equal(eventKey({ kind: 'mailboxes-changed', repository: 'r1', accountId: 3 }), mailboxListEventKey('r1', 3));
  assert.equal(eventKey({ kind: 'account-changed', accountName: 'alice' }), accountEventKey('alice'));
  // Mailbox ids are per repository; mailbox, list and account keys never collide.
  assert.notEqual(mailboxEventKey('r1', 7), mailboxEventKey('r2', 7));
  assert.notEqual(mailboxEventKey('r1', 3), mailboxListEventKey('r1', 3));
  assert.notEqual(mailboxEventKey('1', 2), mailboxEventKey('1:2', 2));
});

test('rights-changed: keyed by identifier in every repository, "-name" as name, and parsed back from the wire', async () => {
  const rights: MailEvent = { kind: 'rights-changed', repository: 'r1', accountId: 3, identifier: 'bob' };
  assert.equal(eventKey(rights), rightsEventKey('bob'));
  assert.equal(eventKey({ ...rights, repository: 'r2' }), rightsEventKey('bob'));
  assert.notEqual(rightsEventKey('alice'), accountEventKey('alice'));
  const bus = new InProcessEventBus();
  const got: MailEvent[] = [];
  bus.subscribeKeys((e) => got.push(e), [rightsEventKey('bob')]);
  publishRightsChanged({ name: 'r1', events: bus }, 3, '-bob');
  publishRightsChanged({ name: 'r1', events: bus }, 3, 'carol');
  await delivered();
  assert.deepEqual(got, [rights]);
  assert.deepEqual(parseMailEvent(JSON.parse(JSON.stringify(rights))), rights);
  assert.equal(parseMailEvent({ kind: 'rights-changed', repository: 'r1', accountId: 3, identifier: '' }), null);
  assert.equal(parseMailEvent({ kind: 'rights-changed', repository: 'r1', identifier: 'bob' }), null);
});

test('keyed listeners get only their keys; all-events listeners get everything', async () => {
  const bus = new InProcessEventBus();
  const all: MailEvent[] = [];
  const one: MailEvent[] = [];
  bus.subscribe((e) => all.push(e));
  bus.subscribeKeys((e) => one.push(e), [mailboxEventKey('r1', 7), accountEventKey('alice')]);
  const events: MailEvent[] = [
    changed('r1', 7),
    changed('r2', 7),
    changed('r1', 8),
    { kind: 'mailboxes-changed', repository: 'r1', accountId: 1 },
    { kind: 'account-changed', accountName: 'bob' },
    { kind: 'account-changed', accountName: 'alice' },
  ];
  for (const e of events) bus.publish(e);
  assert.equal(one.length, 0, 'never inside publish');
  await delivered();
  assert.deepEqual(all, events);
  assert.deepEqual(one, [changed('r1', 7), { kind: 'account-changed', accountName: 'alice' }]);
  await bus.close();
});

test('setKeys moves a subscription; unsubscribe (even between publish and delivery) stops it', async () => {
  const bus = new InProcessEventBus();
  const seen: MailEvent[] = [];
  const sub = bus.subscribeKeys((e) => seen.push(e), [mailboxEventKey('r', 1)]);
  bus.publish(changed('r', 1, 1));
  await delivered();
  sub.setKeys([mailboxEventKey('r', 2), mailboxEventKey('r', 2)]);
  bus.publish(changed('r', 1, 2));
  bus.publish(changed('r', 2, 3));
  await delivered();
  assert.deepEqual(seen, [changed('r', 1, 1), changed('r', 2, 3)]);
  assert.equal(bus.listenerCount, 1, 'a duplicated key is one registration');

  bus.publish(changed('r', 2, 4));
  sub.unsubscribe();
  await delivered();
  assert.equal(seen.length, 2);
  assert.equal(bus.listenerCount, 0, 'no empty key sets left behind');
  // After unsubscribe, setKeys does not bring it back.
  sub.setKeys([mailboxEventKey('r', 2)]);
  bus.publish(changed('r', 2, 5));
  await delivered();
  assert.equal(seen.length, 2);
  await bus.close();
});

test('the same function subscribed twice is delivered twice; a throwing listener does not stop the others', async () => {
  const bus = new InProcessEventBus();
  let calls = 0;
  const listener = () => calls++;
  bus.subscribeKeys(() => {
    throw new Error('boom');
  }, [mailboxEventKey('r', 1)]);
  bus.subscribeKeys(listener, [mailboxEventKey('r', 1)]);
  const unsubscribe = bus.subscribe(listener);
  bus.publish(changed('r', 1));
  await delivered();
  assert.equal(calls, 2);
  unsubscribe();
  bus.publish(changed('r', 1));
  await delivered();
  assert.equal(calls, 3);
  await bus.close();
});

test('a publish costs nothing for the listeners of other keys', async () => {
  const bus = new InProcessEventBus();
  const calls = new Array<number>(10_000).fill(0);
  for (let i = 0; i < calls.length; i++) bus.subscribeKeys(() => calls[i]!++, [mailboxEventKey('r', i)]);
  bus.publish(changed('r', 4242));
  await delivered();
  assert.equal(calls[4242], 1);
  assert.equal(calls.reduce((a, b) => a + b, 0), 1);
  await bus.close();
  bus.publish(changed('r', 1));
  await delivered();
  assert.equal(calls[1], 0, 'a closed bus delivers nothing');
});
