// CommandFramer.consumed: the count of pushed bytes the framer no longer
// refers to, which pooled socket reads rely on to reuse their memory.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFramer } from '../../../src/protocol/imap/framer.js';

const limits = { maxLineLength: 1000, maxMemoryLiteral: 1000, maxNonSyncLiteral: 4096, maxTagLength: 64 };

test('consumed counts framed bytes, a streamed literal as it is handed out, and what reset() drops', () => {
  const f = new CommandFramer(limits);
  f.push(Buffer.from('a NOOP\r\nb APPEND INBOX {10}\r\n0123'));
  assert.equal(f.consumed, 0);
  assert.equal(f.next()?.kind, 'command');
  assert.equal(f.consumed, 8);
  const lit = f.next();
  assert.equal(lit?.kind, 'literal');
  assert.equal(f.consumed, 8 + 'b APPEND INBOX {10}\r\n'.length);
  f.acceptLiteral('stream');
  const chunk = f.next();
  assert.ok(chunk?.kind === 'literal-chunk');
  assert.equal(chunk.data.toString(), '0123');
  assert.equal(f.consumed, 33, 'a literal chunk is consumed when it is handed out (its holder keeps its memory)');
  assert.equal(f.next(), null);
  f.push(Buffer.from('456789\r\nc NO'));
  assert.equal(f.next()?.kind, 'literal-chunk');
  assert.equal(f.next()?.kind, 'literal-end');
  assert.equal(f.consumed, 39);
  f.finishStreamedLiteral(Buffer.from('0123456789'));
  assert.equal(f.next()?.kind, 'command');
  assert.equal(f.consumed, 41);
  assert.equal(f.next(), null);
  // "c NO" was copied into the pending line: consumed, though the line is not complete.
  assert.equal(f.consumed, 45);
  f.push(Buffer.from('OP'));
  f.reset();
  assert.equal(f.consumed, 47, 'what reset() drops counts as consumed');
});
