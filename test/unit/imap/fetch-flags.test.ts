// FETCH of UID/FLAGS/MODSEQ from the view or the compact listing
// (src/imap/handlers/fetch-flags.ts), on a real SQLite store, with chunks and
// sends small enough to cross their boundaries: the bytes sent must be those
// of the FETCH responses the full metadata gives, in order, including a
// message expunged in the store that the view still holds.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFlagItems, onlyFlagItems } from '../../../src/imap/handlers/fetch-flags.js';
import { MailboxView } from '../../../src/imap/view.js';
import type { FetchAttribute } from '../../../src/protocol/imap/ast.js';
import type { Response } from '../../../src/protocol/imap/response.js';
import { serializeResponses, wireToBuffer } from '../../../src/protocol/imap/serializer.js';
import type { MailboxInfo } from '../../../src/mail/types.js';
import { chunks, message, tempRepo, type TempRepo } from '../store/helpers.js';

const ALL = [{ start: 1, end: Infinity }];
const ATTRS: FetchAttribute[] = [{ kind: 'UID' }, { kind: 'FLAGS' }, { kind: 'MODSEQ' }];

const wire = (responses: Response[]) => wireToBuffer(serializeResponses(responses, { utf8: false, rev2: false })).toString('latin1');
/** Messages a response stands for: a run's rows, else one. */
const messages = (r: Response) => (r.kind === 'FETCH-RUN' ? r.uids.length : 1);
/** The MSNs of the messages answered, in order. */
const seqsOf = (responses: Response[]) =>
  responses.flatMap((r) => (r.kind === 'FETCH-RUN' ? Array.from(r.uids, (_, i) => r.firstSeq + i) : r.kind === 'FETCH' ? [r.seq] : []));

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
      { store: t.repo.store, mailboxId: inbox.id, view, send: async (...r) => void sent.push(r), uidFetch: false, sizes },
      uids,
      attrs,
      changedSince,
    );
    return { missing, sent, responses: sent.flat() };
  }

  /** The bytes of the FETCH responses of `uids` from the full metadata. */
  async function expected(uids: number[], changedSince?: number): Promise<string> {
    const metas = await t.repo.store.fetchMessages(inbox.id, ALL);
    return wire(
      metas
        .filter((m) => uids.includes(m.uid) && (changedSince === undefined || m.modseq > changedSince))
        .map((m) => ({
          kind: 'FETCH',
          seq: view.seqOf(m.uid),
          items: [{ kind: 'UID', uid: m.uid }, { kind: 'FLAGS', flags: m.flags }, { kind: 'MODSEQ', modseq: m.modseq }],
        })),
    );
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
    assert.equal(wire(responses), await expected(uids));
    assert.ok(sent.every((s) => s.reduce((n, r) => n + messages(r), 0) <= 3), 'sends of at most 3 messages');
    assert.match(wire(responses), /^\* 3 FETCH \(UID 3 FLAGS \(\\Seen \$Work \$New\) MODSEQ \(\d+\)\)\r$/m);
    // Read from the store ahead of the view: as response objects (the session follows their MODSEQ to catch up).
    const ahead = responses.filter((r) => r.kind === 'FETCH').map((r) => (r as Extract<Response, { kind: 'FETCH' }>).seq);
    assert.deepEqual(ahead, [3, 5]);
    assert.ok(responses.every((r) => r.kind === 'FETCH' || r.kind === 'FETCH-RUN'));
  });

  test('a sparse set, CHANGEDSINCE, and FLAGS alone', async () => {
    assert.equal(wire((await run([1, 12], ATTRS, undefined, { chunk: 2, send: 2 })).responses), await expected([1, 12]));
    const since = Math.max(...(await t.repo.store.fetchMessages(inbox.id, ALL)).filter((m) => m.uid === 12).map((m) => m.modseq));
    const uids = view.allUids();
    const changed = await run(uids, ATTRS, since);
    assert.equal(wire(changed.responses), await expected(uids, since));
    assert.deepEqual(seqsOf(changed.responses), [3, 5]);
    const flagsOnly = await run([2], [{ kind: 'FLAGS' }]);
    assert.equal(wire(flagsOnly.responses), '* 2 FETCH (FLAGS (\\Seen))\r\n');
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
        { store: counting, mailboxId: inbox.id, view, send: async (...r) => void sent.push(...r), uidFetch: false, sizes: { chunk: 4, send: 3 } },
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
    assert.equal(wire(fromView.sent), await expected(uids));
    // A change the view has not pulled: the listing is read again, and tells it.
    await t.repo.store.storeFlags(inbox.id, [{ start: 7, end: 7 }], 'add', ['\\Answered']);
    const fromStore = await fetch(uids);
    assert.ok(listings > 0);
    assert.equal(wire(fromStore.sent), await expected(uids));
    await view.refresh();
  });

  test('a message gone from the store is counted missing, not answered', async () => {
    await t.repo.store.pruneExpunged(new Date(Date.now() + 60_000));
    const { missing, responses } = await run(view.allUids(), ATTRS);
    assert.equal(missing, 1);
    assert.deepEqual(seqsOf(responses), [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('a current view holding no expunge: single ranges as runs of its columns, FETCH and UIDFETCH', async () => {
    const fresh = await MailboxView.open(t.repo.store, inbox.id);
    assert.ok(!fresh.holdsExpunges);
    const fetch = async (uids: number[], uidFetch: boolean, attrs = ATTRS) => {
      const sent: Response[][] = [];
      const missing = await fetchFlagItems(
        { store: t.repo.store, mailboxId: inbox.id, view: fresh, send: async (...r) => void sent.push(r), uidFetch, sizes: { chunk: 4, send: 5 } },
        uids,
        attrs,
        undefined,
      );
      assert.equal(missing, 0);
      return sent;
    };
    const metas = (await t.repo.store.fetchMessages(inbox.id, ALL)).filter((m) => fresh.seqOf(m.uid) !== 0);
    const line = (m: (typeof metas)[number], uidFetch: boolean) =>
      `* ${uidFetch ? m.uid : fresh.seqOf(m.uid)} ${uidFetch ? 'UIDFETCH' : 'FETCH'} (UID ${m.uid} FLAGS (${m.flags.join(' ')}) MODSEQ (${m.modseq}))\r\n`;
    for (const uidFetch of [false, true]) {
      const all = await fetch(fresh.allUids(), uidFetch);
      assert.equal(wire(all.flat()), metas.map((m) => line(m, uidFetch)).join(''));
      assert.ok(all.every((send) => send.length === 1 && send[0]!.kind === 'FETCH-RUN' && send[0]!.uids.length <= 5), 'one run of at most 5 per send');
    }
    // A sparse set: runs broken where the MSNs skip (uid 5 is gone: uid 6 is MSN 5), and at the chunk of 4.
    const sparse = (await fetch([1, 2, 4, 6, 7], false)).flat();
    assert.deepEqual(sparse.map((r) => (r.kind === 'FETCH-RUN' ? r.firstSeq : -1)), [1, 4, 6]);
    assert.equal(wire(sparse), metas.filter((m) => [1, 2, 4, 6, 7].includes(m.uid)).map((m) => line(m, false)).join(''));
    assert.equal(wire((await fetch([2, 3], false, [{ kind: 'FLAGS' }])).flat()), `* 2 FETCH (FLAGS (\\Seen))\r\n* 3 FETCH (FLAGS (${metas[2]!.flags.join(' ')}))\r\n`);
  });
});
