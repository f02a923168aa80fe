// blobRecord (rows.ts) makes a blob's record (index JSON, folded search text)
// once per staged message: a delivery commits the same staged message once
// per recipient. A record is never given for another message's content.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ingest, stageInMemory } from '../../../src/mail/ingest.js';
import type { BlobStore, EventBus, MailStore } from '../../../src/mail/ports.js';
import type { AppendItem, MailboxInfo } from '../../../src/mail/types.js';
import { blobRecord, searchText } from '../../../src/store/shared/rows.js';

const message = (subject: string, body: string) =>
  Buffer.from(`From: a@example.com\r\nTo: b@example.com\r\nSubject: ${subject}\r\nDate: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\n${body}\r\n`);

test('the commits of one staged message to several recipients get one record; other messages their own', async () => {
  // An Ingest whose store only records what each commit appends.
  const appended: AppendItem[][] = [];
  const store = {
    appendMessages: async (_mailbox: number, items: AppendItem[]) => {
      appended.push(items);
      return { uidValidity: 1, uids: items.map((_, i) => i + 1), highestModseq: 1 };
    },
  } as unknown as MailStore;
  const events = { publish: () => undefined } as unknown as EventBus;
  const ingest = new Ingest({ store, blobs: {} as BlobStore, events, maxMessageSize: 1 << 20 });
  const mailbox = (id: number) => ({ id, accountId: id, name: 'INBOX' }) as MailboxInfo;

  const staged = stageInMemory(message('Hello', 'the quick brown fox'));
  const other = stageInMemory(message('Hello', 'the quick brown dog'));
  const internalDate = new Date();
  for (const id of [1, 2, 3]) await ingest.commit(mailbox(id), [{ staged, flags: [], internalDate }]);
  await ingest.commit(mailbox(4), [{ staged: other, flags: [], internalDate }]);

  const [first, second, third, fourth] = appended.map((items) => blobRecord(items[0]!));
  assert.equal(second, first, 'the second recipient gets the record the first made');
  assert.equal(third, first);
  assert.notEqual(fourth, first);
  assert.equal(first!.blobId, staged.blobId);
  assert.equal(fourth!.blobId, other.blobId);
  assert.match(first!.bodyText, /FOX/);
  assert.match(fourth!.bodyText, /DOG/);
  assert.doesNotMatch(fourth!.bodyText, /FOX/);
  assert.ok(Object.isFrozen(first), 'a shared record cannot be changed by one of its users');
});

test('a record is the one its content gives: a new index, or the same index with another blob id, makes its own', () => {
  const bytes = message('Report', 'numbers for the quarter');
  const a = stageInMemory(bytes);
  const b = stageInMemory(bytes); // the same content indexed again: another index object
  const item = (staged: typeof a, blobId = staged.blobId): AppendItem => ({ blobId, index: staged.index, flags: [], internalDate: new Date() });
  const ra = blobRecord(item(a));
  assert.equal(blobRecord(item(a)), ra);
  const rb = blobRecord(item(b));
  assert.notEqual(rb, ra);
  assert.deepEqual(rb, ra, 'the same content gives equal records');
  // The same index under another blob id (not what a delivery does): that id's record, not the cached one.
  const renamed = blobRecord(item(a, 'f'.repeat(64)));
  assert.equal(renamed.blobId, 'f'.repeat(64));
  assert.deepEqual({ ...renamed, blobId: ra.blobId }, ra);
  assert.deepEqual(
    { headerText: ra.headerText, bodyText: ra.bodyText, idx: ra.idx, size: ra.size },
    { ...searchText(a.index), idx: JSON.stringify(a.index), size: a.index.size },
  );
});
