// The three namespaces (RFC 2342): which owner and name a client's mailbox name means.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { displayName, parseMailboxName } from '../../../src/imap/namespaces.js';

test('names map to personal, other users and shared namespaces, and back', () => {
  assert.deepEqual(parseMailboxName('INBOX'), { namespace: 'personal', name: 'INBOX' });
  assert.deepEqual(parseMailboxName('Work/2026'), { namespace: 'personal', name: 'Work/2026' });
  assert.deepEqual(parseMailboxName('Other Users'), { namespace: 'other', owner: null, name: null });
  assert.deepEqual(parseMailboxName('Other Users/'), { namespace: 'other', owner: null, name: null });
  assert.deepEqual(parseMailboxName('Other Users/bob'), { namespace: 'other', owner: 'bob', name: null });
  assert.deepEqual(parseMailboxName('Other Users/bob/inbox'), { namespace: 'other', owner: 'bob', name: 'INBOX' });
  assert.deepEqual(parseMailboxName('Other Users/bob/Inbox/x'), { namespace: 'other', owner: 'bob', name: 'INBOX/x' });
  assert.deepEqual(parseMailboxName('Other Users/bob/Team/Plans'), { namespace: 'other', owner: 'bob', name: 'Team/Plans' });
  assert.deepEqual(parseMailboxName('Other Users//x'), { namespace: 'other', owner: null, name: null });
  assert.deepEqual(parseMailboxName('Shared'), { namespace: 'shared', name: null });
  assert.deepEqual(parseMailboxName('Shared/Support'), { namespace: 'shared', name: 'Support' });
  assert.deepEqual(parseMailboxName('Sharedfolder'), { namespace: 'personal', name: 'Sharedfolder' });
  assert.equal(displayName('other', 'bob', 'INBOX'), 'Other Users/bob/INBOX');
  assert.equal(displayName('shared', 'x', 'Support'), 'Shared/Support');
  assert.equal(displayName('personal', 'alice', 'Sent'), 'Sent');
});
