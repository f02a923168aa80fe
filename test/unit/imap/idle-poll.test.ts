// IDLE's safety-net poll (imap.idle_poll_seconds): a change whose event never
// arrives (lost between servers) still reaches an idling client, from the
// change log, within the poll interval.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { message, startTestServer, type TestServer } from '../../protocol/transcript.js';

let ts: TestServer;
before(async () => {
  ts = await startTestServer({
    configure: (c) => {
      c.imap.idlePollSeconds = 0.2;
      c.imap.idleKeepaliveSeconds = 600;
    },
  });
});
after(() => ts.close());

test('IDLE sees a change made without any event, through its periodic poll', async () => {
  await ts.deliver('alice', 'INBOX', message(['Subject: one', '', 'body']));
  const c = await ts.login('alice');
  await c.run('s SELECT INBOX', []);
  await c.until('s');
  await c.run('i IDLE', ['+ idling']);
  // Written straight into the store: no event is published, as if the NOTIFY was lost.
  const account = await ts.repo.directory.findAccount('alice');
  const inbox = await ts.repo.store.getMailbox(account!.id, 'INBOX');
  const staged = await ts.ingest.stage((async function* () { yield Buffer.from(message(['Subject: two', '', 'body'])); })());
  const appended = await ts.repo.store.appendMessages(inbox!.id, [
    { blobId: staged.blobId, index: staged.index, flags: [], internalDate: new Date() },
  ]);
  assert.deepEqual(appended.uids, [2]);
  await c.expect(['* 2 EXISTS']);
  await ts.repo.store.storeFlags(inbox!.id, [{ start: 1, end: 1 }], 'add', ['\\Flagged']);
  await c.expect(['* 1 FETCH (FLAGS (\\Flagged))']);
  await c.run('DONE', ['i OK IDLE terminated']);
  c.destroy();
});
