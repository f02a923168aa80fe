// Property and stress tests for the MIME indexer: random bytes, mutated real
// messages, pathological nesting and a 200 MB streamed message. The indexer
// must never throw, must stay fast and bounded, and its offsets must always
// be ordered and inside the message.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { indexMessage, MessageIndexer } from '../../src/mime/indexer.js';
import { resolvePart, sectionRange } from '../../src/mime/sections.js';
import { createTransferDecoder } from '../../src/mime/transfer-encoding.js';
import type { MessageIndex, MimePart } from '../../src/mime/types.js';
import { allFixtures } from '../unit/mime/fixtures.js';

function checkIndex(index: MessageIndex, size: number): void {
  assert.equal(index.size, size);
  let parts = 0;
  const stack: Array<[MimePart, number, number]> = [[index.root, 0, size]];
  while (stack.length) {
    const [p, lo, hi] = stack.pop()!;
    parts++;
    assert.ok(lo <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.bodyEnd && p.bodyEnd <= hi, 'offsets');
    assert.equal(p.size, p.bodyEnd - p.bodyStart);
    assert.ok(p.lines >= 0);
    if (p.type === 'multipart') assert.ok(p.children && p.children.length > 0, 'multipart has a child');
    for (const c of p.children ?? []) stack.push([c, p.bodyStart, p.bodyEnd]);
    if (p.message) stack.push([p.message.root, p.bodyStart, p.bodyEnd]);
  }
  assert.ok(parts <= 10_001 + 10_001, 'part count bounded');
  assert.ok(index.preview.length <= 400);
  // The index is plain data (persisted as JSON).
  assert.deepEqual(JSON.parse(JSON.stringify(index)), index);
}

/** Indexes in chunks of the given sizes (cycled) and compares with the one-shot index. */
function indexChunked(data: Buffer, sizes: number[]): MessageIndex {
  const indexer = new MessageIndexer();
  let pos = 0;
  let k = 0;
  while (pos < data.length) {
    const n = sizes[k++ % sizes.length]!;
    indexer.write(data.subarray(pos, pos + n));
    pos += n;
  }
  return indexer.finish();
}

const mimeTokens = [
  '\r\n', '\n', '\r', '--', '--b', '--b--', '--c', ' ', '\t', ':', ';', '=', '"', '\x00', '\xff', '\xc3\xa9',
  'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: multipart/digest; boundary=c\r\n',
  'Content-Type: message/rfc822\r\n', 'Content-Type: text/html; charset=utf-8\r\n',
  'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: quoted-printable\r\n',
  'From: "a, b" <x@y>, g: c@d;\r\n', 'Subject: =?utf-8?B?w6k=?= =?bogus?q?=ZZ?=\r\n', 'Date: 1 Jan 99 1:2 EST\r\n',
  "Content-Disposition: attachment; filename*0*=utf-8''%C3; filename*1=x\r\n", 'abc', '<p>&amp;</p>', '=E9=\r\n',
];

const mimeish = fc
  .array(fc.oneof(fc.constantFrom(...mimeTokens), fc.string({ maxLength: 8 })), { maxLength: 80 })
  .map((xs) => Buffer.from(xs.join(''), 'latin1'));

describe('MIME indexer fuzz', () => {
  test('random bytes never throw and give valid offsets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
        const data = Buffer.from(bytes);
        checkIndex(indexMessage(data), data.length);
      }),
      { numRuns: 2000 },
    );
  });

  test('MIME-like token soup: valid offsets, chunking-invariant, sections resolvable', () => {
    fc.assert(
      fc.property(mimeish, fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 8 }), (data, sizes) => {
        const whole = indexMessage(data);
        checkIndex(whole, data.length);
        assert.deepEqual(indexChunked(data, sizes), whole);
        for (const path of [[1], [1, 1], [2, 1, 1], [1, 2]]) {
          const part = resolvePart(whole.root, path);
          const range = sectionRange(whole, path, null);
          assert.equal(range === null, part === null);
          if (range) assert.ok(0 <= range.start && range.start <= range.end && range.end <= data.length);
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated real messages: bit flips, truncations, boundary deletions and duplications', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('delete-line' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 6 }) }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...allFixtures), fc.array(mutation, { minLength: 1, maxLength: 6 }), (original, mutations) => {
        let data = Buffer.from(original);
        for (const m of mutations) {
          if (data.length === 0) break;
          const at = m.at % data.length;
          if (m.kind === 'flip') data[at] = data[at]! ^ (1 << m.bit);
          else if (m.kind === 'truncate') data = data.subarray(0, at);
          else if (m.kind === 'insert') data = Buffer.concat([data.subarray(0, at), Buffer.from(m.bytes), data.subarray(at)]);
          else {
            // Lines starting with "--" are the interesting ones: delete or repeat one.
            const starts: number[] = [];
            for (let i = data.indexOf('\n--'); i >= 0; i = data.indexOf('\n--', i + 1)) starts.push(i + 1);
            if (!starts.length) continue;
            const s = starts[at % starts.length]!;
            const e = data.indexOf('\n', s) < 0 ? data.length : data.indexOf('\n', s) + 1;
            const line = data.subarray(s, e);
            data = Buffer.concat(
              m.kind === 'delete-line' ? [data.subarray(0, s), data.subarray(e)] : [data.subarray(0, e), line, data.subarray(e)],
            );
          }
        }
        const whole = indexMessage(data);
        checkIndex(whole, data.length);
        assert.deepEqual(indexChunked(data, [7, 1, 64]), whole);
      }),
      { numRuns: 1500 },
    );
  });

  test('transfer decoders never throw and are chunking-invariant', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('base64', 'quoted-printable', '7bit'),
        fc.uint8Array({ maxLength: 500 }),
        fc.integer({ min: 1, max: 20 }),
        (encoding, bytes, step) => {
          const data = Buffer.from(bytes);
          const one = createTransferDecoder(encoding)!;
          const whole = Buffer.concat([one.push(data), one.end()]);
          const many = createTransferDecoder(encoding)!;
          const out: Buffer[] = [];
          for (let i = 0; i < data.length; i += step) out.push(Buffer.from(many.push(data.subarray(i, i + step))));
          out.push(many.end());
          assert.deepEqual(Buffer.concat(out), whole);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('10,000 sibling parts and more: bounded by the part limit', () => {
    const lines = ['Content-Type: multipart/mixed; boundary=p', ''];
    for (let i = 0; i < 12_000; i++) lines.push('--p', 'Content-Type: text/plain', '', `part ${i}`);
    lines.push('--p--', '');
    const data = Buffer.from(lines.join('\r\n'));
    const started = performance.now();
    const index = indexMessage(data);
    assert.ok(performance.now() - started < 5000);
    checkIndex(index, data.length);
    assert.equal(index.root.children!.length, 9_999);
    assert.equal(index.truncatedParts, 12_000 - 9_999);
  });

  test('10,000-deep nesting of multiparts and of message/rfc822: bounded by the depth limit', () => {
    let multi = '';
    for (let i = 0; i < 10_000; i++) multi += `Content-Type: multipart/mixed; boundary=n${i}\r\n\r\n--n${i}\r\n`;
    let rfc822 = '';
    for (let i = 0; i < 10_000; i++) rfc822 += 'Content-Type: message/rfc822\r\n\r\n';
    for (const text of [multi, rfc822]) {
      const data = Buffer.from(text + 'Subject: x\r\n\r\nbody\r\n');
      const started = performance.now();
      const index = indexMessage(data);
      assert.ok(performance.now() - started < 5000);
      checkIndex(index, data.length);
      assert.equal(index.truncatedParts, 1);
      let depth = 0;
      for (let p: MimePart | undefined = index.root; p; p = p.children?.[0] ?? p.message?.root) depth++;
      assert.ok(depth <= 65, `depth ${depth}`);
    }
  });

  test('a 200 MB message streamed in 64 KiB chunks keeps memory bounded', () => {
    // In-process gc (node:test runs files in child processes without --expose-gc).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const line = Buffer.from('QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n');
    const chunk = Buffer.alloc(64 * 1024);
    for (let i = 0; i < chunk.length; i++) chunk[i] = line[i % line.length]!;
    const textChunk = Buffer.from(chunk.toString('latin1').replace(/[+/]/g, 'a'), 'latin1');
    const head = Buffer.from(
      'From: a@b.example\r\nSubject: big\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n' +
        '--zz\r\nContent-Type: text/plain\r\n\r\n',
    );
    const middle = Buffer.from('\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n');
    const tail = Buffer.from('\r\n--zz--\r\n');
    gc();
    const before = process.memoryUsage();
    const indexer = new MessageIndexer();
    let size = 0;
    const write = (b: Buffer): void => {
      indexer.write(b);
      size += b.length;
    };
    write(head);
    for (let i = 0; i < 400; i++) write(textChunk); // 25 MiB of text: more than the search budget
    write(middle);
    for (let i = 0; i < 2800; i++) write(chunk); // 175 MiB attachment
    write(tail);
    const index = indexer.finish();
    gc();
    const after = process.memoryUsage();
    assert.ok(size > 200 * 1000 * 1000);
    checkIndex(index, size);
    const [text, attachment] = index.root.children!;
    assert.equal(text!.size, 400 * chunk.length);
    // Each chunk holds 840 whole 78-byte lines and a 16-byte piece that the next chunk continues.
    assert.equal(text!.lines, 400 * 840 + 1);
    assert.equal(attachment!.size, 2800 * chunk.length);
    assert.equal(index.bodyText.length, 2 * 1024 * 1024);
    const growth = after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    assert.ok(growth < 64 * 1024 * 1024, `memory grew by ${growth} bytes`);
    assert.ok(JSON.stringify(index).length < 3 * 1024 * 1024);
  });
});
