// FETCH of UID/FLAGS/MODSEQ from the compact listing (src/imap/handlers/fetch-flags.ts),
// on a real SQLite store, with chunks and sends small enough to cross their
// boundaries: the answers must be what the full metadata says, in order,
// including a message expunged in the store that the view still holds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFlagItems, onlyFlagItems } from '../../../src/imap/handlers/fetch-flags.js';
import { MailboxView } from '../../../src/imap/view.js';
import type { FetchAttribute } from '../../../src/protocol/imap/ast.js';
import type { Response } from '../../../src/protocol/imap/response.js';
import type { MailboxInfo } from '../../../src/mail/types.js';
import { chunks, message, tempRepo, type TempRepo } from '../store/helpers.js';

const ALL = [{ start: 1, end: Infinity }];
const ATTRS: FetchAttribute[] = [{ kind: 'UID' }, { kind: 'FLAGS' }, { kind: 'MODSEQ' }];

describe('fetchFlagItems', () => {
  let t: TempRepo;
  let inbox: MailboxInfo;
  let view: MailboxView;

  before(async () => {
    t = await tempRepo();
    inbox = await t.repo.store.createMailbox(t.accountId, 'INBOX');
    const flagsOf = (i: number) => [[], ['\\Seen'], ['\\Seen', '$Work'], ['\\Flagged']][i % 4]!;
    for (let i = 0; i < 12; i++) {
      const staged = await t.ingest.stage(chunks(message(`m${i}`)));
      await t.ingest.commit(inbox, [{ staged, flags: flagsOf(i), internalDate: new Date(0) }]);
    }
    view = await MailboxView.open(t.repo.store, inbox.id);
    // Changes the view has not pulled yet: a flag change, and an expunge (uid 5 stays in the view).
    await t.repo.store.storeFlags(inbox.id, [{ start: 3, end: 3 }], 'add', ['$New']);
    await t.repo.store.storeFlags(inbox.id, [{ start: 5, end: 5 }], 'add', ['\\Deleted']);
    await t.repo.store.expunge(inbox.id, [{ start: 5, end: 5 }]);
  });
  after(() => t?.cleanup());

  async function run(uids: number[], attrs: FetchAttribute[], changedSince?: number, sizes = { chunk: 4, send: 3 }) {
    const sent: Response[][] = [];
    const missing = await fetchFlagItems(
      { store: t.repo.store, mailboxId: inbox.id, view, send: async (...r) => void sent.push(r), sizes },
      uids,
      attrs,
      changedSince,
    );
    return { missing, sent, responses: sent.flat() };
  }

  async function expected(uids: number[], changedSince?: number): Promise<Response[]> {
    const metas = await t.repo.store.fetchMessages(inbox.id, ALL);
    return metas
      .filter((m) => uids.includes(m.uid) && (changedSince === undefined || m.modseq > changedSince))
      .map((m) => ({
        kind: 'FETCH',
        seq: view.seqOf(m.uid),
        items: [{ kind: 'UID', uid: m.uid }, { kind: 'FLAGS', flags: m.flags }, { kind: 'MODSEQ', modseq: m.modseq }],
      }));
  }

  test('only UID, FLAGS and MODSEQ take this path', () => {
    assert.ok(onlyFlagItems(ATTRS));
    assert.ok(onlyFlagItems([{ kind: 'FLAGS' }]));
    assert.ok(!onlyFlagItems([{ kind: 'UID' }, { kind: 'ENVELOPE' }]));
    assert.ok(!onlyFlagItems([]));
  });

  test('1:* across chunk and send boundaries: the store flags, in order, the expunged-but-held message too', async () => {
    const uids = view.uidsForSeqSet({ kind: 'set', ranges: [{ start: 1, end: '*' }] }, []);
    assert.equal(uids.length, 12);
    const { missing, sent, responses } = await run(uids, ATTRS);
    assert.equal(missing, 0);
    assert.deepEqual(responses, await expected(uids));
    assert.ok(sent.every((s) => s.length <= 3), 'sends of at most 3');
    const third = responses[2] as Extract<Response, { kind: 'FETCH' }>;
    assert.deepEqual(third.items[1], { kind: 'FLAGS', flags: ['\\Seen', '$Work', '$New'] });
  });

  test('a sparse set, CHANGEDSINCE, and FLAGS alone', async () => {
    assert.deepEqual((await run([1, 12], ATTRS, undefined, { chunk: 2, send: 2 })).responses, await expected([1, 12]));
    const since = Math.max(...(await t.repo.store.fetchMessages(inbox.id, ALL)).filter((m) => m.uid === 12).map((m) => m.modseq));
    const uids = view.allUids();
    const changed = await run(uids, ATTRS, since);
    assert.deepEqual(changed.responses, await expected(uids, since));
    assert.deepEqual(changed.responses.map((r) => (r as Extract<Response, { kind: 'FETCH' }>).seq), [3, 5]);
    const flagsOnly = await run([2], [{ kind: 'FLAGS' }]);
    assert.deepEqual(flagsOnly.responses, [{ kind: 'FETCH', seq: 2, items: [{ kind: 'FLAGS', flags: ['\\Seen'] }] }]);
  });

  test('a view with every change pulled answers from itself, without reading the listing', async () => {
    await view.refresh(); // now current: uid 3's new flag is in the view, uid 5 is a pending expunge
    assert.ok(view.isPendingExpunge(5));
    let listings = 0;
    const counting = new Proxy(t.repo.store, {
      get: (target, key, receiver) => {
        if (key === 'listFlags') listings++;
        const v = Reflect.get(target, key, receiver) as unknown;
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const fetch = async (uids: number[]) => {
      const sent: Response[] = [];
      const missing = await fetchFlagItems(
        { store: counting, mailboxId: inbox.id, view, send: async (...r) => void sent.push(...r), sizes: { chunk: 4, send: 3 } },
        uids,
        ATTRS,
        undefined,
      );
      return { missing, sent };
    };
    const uids = view.allUids();
    const fromView = await fetch(uids);
    assert.equal(listings, 0, 'no listing read');
    assert.equal(fromView.missing, 0);
    assert.deepEqual(fromView.sent, await expected(uids));
    // A change the view has not pulled: the listing is read again, and tells it.
    await t.repo.store.storeFlags(inbox.id, [{ start: 7, end: 7 }], 'add', ['\\Answered']);
    const fromStore = await fetch(uids);
    assert.ok(listings > 0);
    assert.deepEqual(fromStore.sent, await expected(uids));
    await view.refresh();
  });

  test('a message gone from the store is counted missing, not answered', async () => {
    await t.repo.store.pruneExpunged(new Date(Date.now() + 60_000));
    const { missing, responses } = await run(view.allUids(), ATTRS);
    assert.equal(missing, 1);
    assert.equal(responses.length, 11);
    assert.ok(!responses.some((r) => (r as Extract<Response, { kind: 'FETCH' }>).seq === 5));
  });
});
