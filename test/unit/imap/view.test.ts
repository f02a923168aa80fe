// The selected-mailbox view: MSN <-> UID mapping and the release rules for
// untagged updates (EXPUNGE held while a command uses sequence numbers).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MailStore } from '../../../src/mail/ports.js';
import type { Changes, MessageMeta } from '../../../src/mail/types.js';
import { InvalidSequenceError, MailboxView } from '../../../src/imap/view.js';

/** Just enough of a MailStore for the view: a change log the test writes. */
class FakeStore {
  live = new Map<number, { flags: string[]; modseq: number }>();
  expunged: Array<{ uid: number; modseq: number }> = [];
  modseq = 0;
  uidNext = 1;

  add(flags: string[] = []): number {
    const uid = this.uidNext++;
    this.live.set(uid, { flags, modseq: ++this.modseq });
    return uid;
  }
  setFlags(uid: number, flags: string[]): number {
    const m = ++this.modseq;
    this.live.set(uid, { flags, modseq: m });
    return m;
  }
  expunge(uid: number): void {
    this.live.delete(uid);
    this.expunged.push({ uid, modseq: ++this.modseq });
  }
  asStore(): MailStore {
    const self = this;
    return {
      async getMailboxById() {
        return { id: 1, accountId: 1, name: 'INBOX', uidValidity: 7, uidNext: self.uidNext, highestModseq: self.modseq, specialUse: null, selectable: true };
      },
      async listUids() {
        return [...self.live.keys()].sort((a, b) => a - b);
      },
      async listFlags() {
        const uids = [...self.live.keys()].sort((a, b) => a - b);
        return {
          uids: Uint32Array.from(uids),
          modseqs: Float64Array.from(uids.map((u) => self.live.get(u)!.modseq)),
          flagSet: Uint32Array.from(uids.map((_, i) => i)),
          flagSets: uids.map((u) => self.live.get(u)!.flags),
          highestModseq: self.modseq,
          uidNext: self.uidNext,
        };
      },
      async fetchMessages(): Promise<MessageMeta[]> {
        return [...self.live.entries()].map(([uid, m]) => ({
          uid,
          modseq: m.modseq,
          flags: m.flags,
          internalDate: new Date(0),
          saveDate: new Date(0),
          size: 1,
          blobId: 'x',
          expungedModseq: null,
        }));
      },
      async changesSince(_mb: number, since: number): Promise<Changes> {
        return {
          highestModseq: self.modseq,
          uidNext: self.uidNext,
          changed: [...self.live.entries()].filter(([, m]) => m.modseq > since).map(([uid, m]) => ({ uid, ...m })).sort((a, b) => a.uid - b.uid),
          expunged: self.expunged.filter((e) => e.modseq > since).map((e) => e.uid),
        };
      },
    } as unknown as MailStore;
  }
}

describe('MailboxView', () => {
  test('maps sequence sets to UIDs and rejects numbers beyond the mailbox', async () => {
    const s = new FakeStore();
    for (let i = 0; i < 5; i++) s.add();
    s.expunge(2);
    const v = await MailboxView.open(s.asStore(), 1);
    assert.deepEqual(v.allUids(), [1, 3, 4, 5]);
    assert.deepEqual(v.uidsForSeqSet({ kind: 'set', ranges: [{ start: 4, end: 2 }] }, []), [3, 4, 5]);
    assert.deepEqual(v.uidsForSeqSet({ kind: 'set', ranges: [{ start: '*', end: '*' }] }, []), [5]);
    assert.throws(() => v.uidsForSeqSet({ kind: 'set', ranges: [{ start: 5, end: 5 }] }, []), InvalidSequenceError);
    assert.deepEqual(v.uidsForUidSet({ kind: 'set', ranges: [{ start: 2, end: 4 }, { start: 100, end: '*' }] }, []), [3, 4, 5]);
    assert.deepEqual(v.uidsForUidSet({ kind: 'saved' }, [1, 2, 5]), [1, 5]);
    assert.equal(v.seqOf(4), 3);
    assert.equal(v.seqOf(2), 0);
  });

  test('holds EXPUNGE while sequence numbers are in use, then sends them highest first', async () => {
    const s = new FakeStore();
    for (let i = 0; i < 4; i++) s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    s.expunge(2);
    s.expunge(3);
    s.add();
    await v.refresh();
    // During FETCH by MSN: only the EXISTS (which still counts the expunged ones).
    assert.deepEqual(v.takeUpdates(false), [{ kind: 'EXISTS', count: 5 }]);
    assert.equal(v.uidAt(2), 2, 'expunged message keeps its number until told');
    assert.deepEqual(v.takeUpdates(true), [
      { kind: 'EXPUNGE', seq: 3, uid: 3 },
      { kind: 'EXPUNGE', seq: 2, uid: 2 },
    ]);
    assert.deepEqual(v.allUids(), [1, 4, 5]);
    assert.deepEqual(v.takeUpdates(true), []);
  });

  test('reports flag changes by others, not our own', async () => {
    const s = new FakeStore();
    s.add();
    s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    const own = s.setFlags(1, ['\\Seen']);
    v.applyOwnFlags(1, ['\\Seen'], own);
    s.setFlags(2, ['\\Flagged']);
    await v.refresh();
    assert.deepEqual(v.takeUpdates(true), [{ kind: 'FLAGS', seq: 2, uid: 2, flags: ['\\Flagged'], modseq: s.modseq }]);
  });

  test('a message added and expunged before the client heard of it produces nothing', async () => {
    const s = new FakeStore();
    s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    const uid = s.add();
    await v.refresh();
    s.expunge(uid);
    await v.refresh();
    assert.deepEqual(v.takeUpdates(true), []);
    assert.equal(v.exists, 1);
  });

  test('own EXPUNGE returns the numbers to send and is not reported again', async () => {
    const s = new FakeStore();
    for (let i = 0; i < 3; i++) s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    s.expunge(1);
    s.expunge(3);
    assert.deepEqual(v.applyOwnExpunge([1, 3]), [3, 1]);
    await v.refresh();
    assert.deepEqual(v.takeUpdates(true), []);
    assert.deepEqual(v.allUids(), [2]);
  });

  test('own MODSEQs right after the view\'s are absorbed; after a gap the view waits for the log', async () => {
    const s = new FakeStore();
    for (let i = 0; i < 3; i++) s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    assert.equal(v.highestModseq, 3);
    const first = s.setFlags(1, ['\\Seen']);
    const second = s.setFlags(2, ['\\Seen']);
    v.applyOwnFlags(1, ['\\Seen'], first);
    v.applyOwnFlags(2, ['\\Seen'], second);
    v.absorbOwnModseqs([second, first, second]);
    assert.equal(v.highestModseq, 5);
    s.setFlags(3, ['\\Flagged']); // another session's: 6
    const mine = s.setFlags(1, []);
    v.applyOwnFlags(1, [], mine);
    v.absorbOwnModseqs([mine]);
    assert.equal(v.highestModseq, 5, 'a gap: not absorbed');
    await v.refresh();
    assert.equal(v.highestModseq, 7);
    assert.deepEqual(v.takeUpdates(true), [{ kind: 'FLAGS', seq: 3, uid: 3, flags: ['\\Flagged'], modseq: 6 }]);
  });

  test('grows past its initial capacity', async () => {
    const s = new FakeStore();
    for (let i = 0; i < 1000; i++) s.add();
    const v = await MailboxView.open(s.asStore(), 1);
    assert.equal(v.exists, 1000);
    assert.equal(v.seqOf(777), 777);
    assert.deepEqual(MailboxView.toUidSet([1, 2, 3, 7, 9, 10]), [
      { start: 1, end: 3 },
      { start: 7, end: 7 },
      { start: 9, end: 10 },
    ]);
  });
});
