// FetchRun responses (src/protocol/imap/serializer-fetch-run.ts): exact bytes,
// and the same bytes as the FETCH response objects of the same messages for
// every order of UID, FLAGS and MODSEQ.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FetchItem, FetchRun, FetchRunItem, Response, SerializeOptions } from '../../../src/protocol/imap/response.js';
import { serializeResponses, wireToBuffer } from '../../../src/protocol/imap/serializer.js';

const REV1: SerializeOptions = { utf8: false, rev2: false };
const FLAG_SETS: string[][] = [[], ['\\Seen'], ['\\Seen', '\\Answered', '$Work'], ['\\Flagged']];

function run(items: FetchRunItem[], firstSeq: number, rows: Array<[uid: number, set: number, modseq: number]>, uidFetch = false): FetchRun {
  return {
    kind: 'FETCH-RUN',
    items,
    uidFetch,
    firstSeq,
    uids: Uint32Array.from(rows, (r) => r[0]),
    flagSet: Uint32Array.from(rows, (r) => r[1]),
    flagSets: FLAG_SETS,
    modseqs: Float64Array.from(rows, (r) => r[2]),
  };
}

/** The response objects a run stands for. */
function objects(r: FetchRun): Response[] {
  return Array.from(r.uids, (uid, i) => {
    const items: FetchItem[] = r.items.map((kind) =>
      kind === 'UID' ? { kind, uid } : kind === 'FLAGS' ? { kind, flags: FLAG_SETS[r.flagSet[i]!]! } : { kind, modseq: r.modseqs[i]! },
    );
    return r.uidFetch ? { kind: 'UIDFETCH', uid, items } : { kind: 'FETCH', seq: r.firstSeq + i, items };
  });
}

const text = (responses: Response[]) => wireToBuffer(serializeResponses(responses, REV1)).toString('latin1');

describe('FETCH-RUN', () => {
  const rows: Array<[number, number, number]> = [
    [4, 1, 17],
    [9, 0, 2 ** 53],
    [4294967295, 2, 1],
  ];

  test('byte for byte', () => {
    assert.equal(
      text([run(['UID', 'FLAGS'], 3, rows)]),
      '* 3 FETCH (UID 4 FLAGS (\\Seen))\r\n* 4 FETCH (UID 9 FLAGS ())\r\n* 5 FETCH (UID 4294967295 FLAGS (\\Seen \\Answered $Work))\r\n',
    );
    assert.equal(
      text([run(['FLAGS', 'MODSEQ', 'UID'], 1, rows.slice(0, 2))]),
      '* 1 FETCH (FLAGS (\\Seen) MODSEQ (17) UID 4)\r\n* 2 FETCH (FLAGS () MODSEQ (9007199254740992) UID 9)\r\n',
    );
    assert.equal(text([run(['FLAGS'], 8, rows.slice(2))]), '* 8 FETCH (FLAGS (\\Seen \\Answered $Work))\r\n');
    assert.equal(text([run(['MODSEQ'], 8, rows.slice(2), true)]), '* 4294967295 UIDFETCH (MODSEQ (1))\r\n');
    assert.equal(text([run(['UID', 'MODSEQ', 'UID'], 2, rows.slice(0, 1))]), '* 2 FETCH (UID 4 MODSEQ (17) UID 4)\r\n');
    assert.equal(text([run(['UID'], 1, [])]), '');
  });

  test('every order of the items, FETCH and UIDFETCH: the bytes of the response objects', () => {
    const orders: FetchRunItem[][] = [['UID'], ['FLAGS'], ['MODSEQ']];
    for (const a of ['UID', 'FLAGS', 'MODSEQ'] as const) {
      for (const b of ['UID', 'FLAGS', 'MODSEQ'] as const) {
        if (b !== a) orders.push([a, b]);
        for (const c of ['UID', 'FLAGS', 'MODSEQ'] as const) if (a !== b && b !== c && a !== c) orders.push([a, b, c]);
      }
    }
    for (const items of orders) {
      for (const uidFetch of [false, true]) {
        const r = run(items, 10, rows, uidFetch);
        assert.equal(text([r]), text(objects(r)), `${items.join(' ')}${uidFetch ? ' UIDFETCH' : ''}`);
      }
    }
  });

  test('a long run between other responses, in order', () => {
    const many = run(['UID', 'FLAGS', 'MODSEQ'], 1, Array.from({ length: 5000 }, (_, i) => [i + 1, i % 4, 100 + i] as [number, number, number]));
    const before: Response = { kind: 'EXISTS', count: 5000 };
    const after: Response = { kind: 'FETCH', seq: 5001, items: [{ kind: 'UID', uid: 6000 }] };
    assert.equal(text([before, many, after]), text([before, ...objects(many), after]));
  });
});
