// SORT keys and order, and the THREAD algorithms of RFC 5256 (pure modules).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  collationKey,
  displayValue,
  isReplyOrForward,
  messageIds,
  sortMessages,
  type SortableMessage,
} from '../../../src/imap/sorting.js';
import { unicodeCasemap } from '../../../src/mime/unicode-casemap.js';
import { threadOrderedSubject, threadReferences } from '../../../src/imap/threading.js';
import { baseSubject } from '../../../src/mime/subject.js';
import { formatThreads } from '../../../src/protocol/imap/thread-format.js';

function msg(seq: number, fields: Partial<Omit<SortableMessage, 'subject'>> & { subject?: string } = {}): SortableMessage {
  const { subject, ...rest } = fields;
  return {
    id: seq,
    seq,
    size: 0,
    arrival: 0,
    sent: 0,
    from: collationKey(''),
    to: collationKey(''),
    cc: collationKey(''),
    displayFrom: collationKey(''),
    displayTo: collationKey(''),
    messageId: null,
    references: [],
    replyOrForward: isReplyOrForward(subject),
    ...rest,
    subject: collationKey(baseSubject(subject ?? '')),
  };
}

describe('collation and keys', () => {
  test('i;unicode-casemap folds case and compatibility forms', () => {
    assert.equal(unicodeCasemap('abc'), unicodeCasemap('ABC'));
    assert.equal(unicodeCasemap('straße'), 'STRASSE'.normalize('NFKD').replace('SS', 'ß'));
    assert.equal(unicodeCasemap('ǆ'), unicodeCasemap('Ǆ'));
    assert.equal(unicodeCasemap('é'), unicodeCasemap('É'));
    assert.equal(unicodeCasemap('ﬁ'), 'fi');
    assert.ok(Buffer.compare(collationKey(''), collationKey('a')) < 0);
    assert.ok(Buffer.compare(collationKey('apple'), collationKey('Banana')) < 0);
  });
  test('Message-IDs are normalised and extracted', () => {
    assert.deepEqual(messageIds('<"01KF8JCEOCBS0045PS"@xxx.yyy.com>'), ['01KF8JCEOCBS0045PS@xxx.yyy.com']);
    assert.deepEqual(messageIds(' <a@x>\r\n <b@y> junk <nope> <c@z>'), ['a@x', 'b@y', 'c@z']);
    assert.deepEqual(messageIds(null), []);
  });
  test('reply or forward detection follows base subject extraction', () => {
    for (const s of ['Re: x', 'RE [list]: x', '[list] Fwd: x', 'x (fwd)', '[Fwd: x]', 'fw:x']) assert.equal(isReplyOrForward(s), true, s);
    for (const s of ['x', '[list] x', 'Regarding x', null, 'Re x']) assert.equal(isReplyOrForward(s), false, String(s));
  });
  test('DISPLAY value (RFC 5957 3)', () => {
    assert.equal(displayValue([{ name: '=?UTF-8?Q?Andr=C3=A9?=', adl: null, mailbox: 'a', host: 'x' }]), 'André');
    assert.equal(displayValue([{ name: '', adl: null, mailbox: 'a', host: 'x' }]), 'a@x');
    assert.equal(displayValue([{ name: null, adl: null, mailbox: 'group', host: null }]), 'group');
    assert.equal(displayValue(null), '');
  });
});

describe('sortMessages', () => {
  const ms = [
    msg(1, { size: 30, sent: 300, arrival: 5, from: collationKey('zed') }),
    msg(2, { size: 10, sent: 300, arrival: 4, from: collationKey('Bob') }),
    msg(3, { size: 20, sent: 100, arrival: 3, from: collationKey('bob') }),
    msg(4, { size: 10, sent: 200, arrival: 2, from: collationKey('') }),
  ];
  const order = (criteria: Array<[string, boolean?]>) =>
    sortMessages(ms, criteria.map(([key, reverse]) => ({ key: key as never, reverse: reverse ?? false }))).map((m) => m.seq);
  test('single criteria, ties by sequence number', () => {
    assert.deepEqual(order([['SIZE']]), [2, 4, 3, 1]);
    assert.deepEqual(order([['DATE']]), [3, 4, 1, 2]);
    assert.deepEqual(order([['ARRIVAL']]), [4, 3, 2, 1]);
    assert.deepEqual(order([['FROM']]), [4, 2, 3, 1]);
  });
  test('REVERSE flips one criterion, not the sequence tie-breaker', () => {
    assert.deepEqual(order([['SIZE', true]]), [1, 3, 2, 4]);
    assert.deepEqual(order([['FROM', true]]), [1, 2, 3, 4]);
    assert.deepEqual(order([['SIZE'], ['DATE', true]]), [2, 4, 3, 1]);
    assert.deepEqual(order([['DATE', true], ['SIZE']]), [2, 1, 4, 3]);
  });
});

describe('THREAD', () => {
  // 6 and 3/4 share a subject; 3 and 4 have a missing common parent (dummy);
  // 5 is a reply by subject only; 7's parent is missing (a dummy with one
  // child); 8 repeats 1's Message-ID; 9 and 10 reference each other.
  const ms = [
    msg(1, { sent: 10, messageId: 'a@x', subject: 'Plans' }),
    msg(2, { sent: 20, messageId: 'b@x', references: ['a@x'], subject: 'Re: Plans' }),
    msg(3, { sent: 30, messageId: 'c@x', references: ['missing@x'], subject: 'Lunch' }),
    msg(4, { sent: 40, messageId: 'd@x', references: ['missing@x'], subject: 'Re: Lunch' }),
    msg(5, { sent: 50, messageId: 'e@x', subject: 'Re: plans' }),
    msg(6, { sent: 0, messageId: 'f@x', subject: 'lunch' }),
    msg(7, { sent: 70, messageId: 'g@x', references: ['gone@x'], subject: 'Solo' }),
    msg(8, { sent: 80, messageId: 'a@x', subject: 'Other' }),
    msg(9, { sent: 90, messageId: 'h@x', references: ['i@x'], subject: 'Re: Loop' }),
    msg(10, { sent: 100, messageId: 'i@x', references: ['h@x'], subject: 'Loop' }),
  ];
  test('REFERENCES: dummy parents, subject merge, duplicates, loops', () => {
    assert.equal(formatThreads(threadReferences(ms)), '((6)(3)(4))(1 (2)(5))(7)(8)(10 9)');
  });
  test('REFERENCES: a chain through References with a truncated header', () => {
    const chain = [
      msg(1, { sent: 1, messageId: 'r1@x', subject: 'Q' }),
      msg(2, { sent: 2, messageId: 'r2@x', references: ['r1@x'], subject: 'Re: Q' }),
      msg(3, { sent: 3, messageId: 'r3@x', references: ['r1@x', 'r2@x'], subject: 'Re: Q' }),
      msg(4, { sent: 4, messageId: 'r4@x', references: ['r2@x'], subject: 'Re: Q' }),
      msg(5, { sent: 5, messageId: 'r5@x', references: ['r1@x', 'r4@x'], subject: 'Re: Q' }),
    ];
    assert.equal(formatThreads(threadReferences(chain)), '(1 2 (3)(4 5))');
  });
  test('ORDEREDSUBJECT: by base subject, threads by first sent date, no grandchildren', () => {
    assert.equal(formatThreads(threadOrderedSubject(ms)), '(6 (3)(4))(1 (2)(5))(7)(8)(9 10)');
  });
  test('REFERENCES: a very long reply chain neither overflows the stack nor goes quadratic', () => {
    const chain: SortableMessage[] = [];
    for (let i = 1; i <= 15000; i++) chain.push(msg(i, { sent: i, messageId: `c${i}@x`, references: i > 1 ? [`c${i - 1}@x`] : [], subject: 'Re: long' }));
    const out = formatThreads(threadReferences(chain));
    assert.ok(out.startsWith('(1 2 3 4 '));
    assert.ok(out.endsWith(' 14999 15000)'));
  });
  test('REFERENCES: a message that references itself hangs under the reference before', () => {
    const self = [msg(1, { sent: 1, messageId: 's1@x', subject: 'A' }), msg(2, { sent: 2, messageId: 's2@x', references: ['s1@x', 's2@x'], subject: 'B' })];
    assert.equal(formatThreads(threadReferences(self)), '(1 2)');
  });
  test('empty input', () => {
    assert.deepEqual(threadReferences([]), []);
    assert.deepEqual(threadOrderedSubject([]), []);
  });
});
