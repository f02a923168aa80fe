import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { indexMessage } from '../../../src/mime/indexer.js';
import { filterHeaderFields, resolvePart, sectionRange, type SectionText } from '../../../src/mime/sections.js';
import * as fx from './fixtures.js';

function section(data: Buffer, part: number[], text: SectionText): string | null {
  const range = sectionRange(indexMessage(data), part, text);
  return range ? data.subarray(range.start, range.end).toString('utf8') : null;
}

describe('sectionRange / resolvePart', () => {
  test('non-multipart message: part 1 is the body, MIME needs a part', () => {
    const data = fx.simpleText;
    const ix = indexMessage(data);
    assert.equal(section(data, [], null), data.toString());
    assert.ok(section(data, [], 'HEADER')!.endsWith('<1234@example.org>\r\n\r\n'));
    assert.equal(section(data, [], 'TEXT'), 'Hi Bob,\r\n\r\nLunch tomorrow at noon?\r\n');
    assert.equal(section(data, [1], null), 'Hi Bob,\r\n\r\nLunch tomorrow at noon?\r\n');
    assert.equal(section(data, [1], 'MIME'), section(data, [], 'HEADER'));
    assert.equal(section(data, [], 'MIME'), null);
    assert.equal(section(data, [2], null), null);
    assert.equal(section(data, [1, 1], null), null);
    assert.equal(section(data, [1], 'HEADER'), null); // not a message/rfc822
    assert.equal(resolvePart(ix.root, []), ix.root);
  });

  test('multipart with a nested message: numbering continues into the message', () => {
    const data = fx.nestedMessage;
    assert.equal(section(data, [1], null), 'Forwarded below.');
    assert.equal(section(data, [1], 'MIME'), '\r\n');
    assert.equal(section(data, [2], 'MIME'), 'Content-Type: message/rfc822\r\n\r\n');
    assert.ok(section(data, [2], null)!.startsWith('From: "Orig, Sender"'));
    assert.ok(section(data, [2], 'HEADER')!.startsWith('From: "Orig, Sender"'));
    assert.ok(section(data, [2], 'HEADER')!.endsWith('boundary=b2\r\n\r\n'));
    assert.ok(section(data, [2], 'TEXT')!.startsWith('--b2\r\n'));
    assert.equal(section(data, [2, 1], null), 'inner plain');
    assert.equal(section(data, [2, 2], null), '<p>inner html</p>');
    assert.equal(section(data, [2, 2], 'MIME'), 'Content-Type: text/html\r\n\r\n');
    assert.equal(section(data, [2, 3], null), null);
    assert.equal(section(data, [3], null), null);
    assert.equal(section(data, [0], null), null);
  });

  test('message/rfc822 with a non-multipart body: n.1 is that body', () => {
    const data = fx.digest;
    assert.equal(section(data, [1, 1], null), 'first');
    assert.equal(section(data, [1], 'HEADER'), 'From: a@example.org\r\nSubject: one\r\n\r\n');
    assert.equal(section(data, [1, 2], null), null);
  });

  test('a top-level message/rfc822 body', () => {
    const data = fx.crlf('Content-Type: message/rfc822', '', 'Subject: in', '', 'text');
    assert.equal(section(data, [1], null), 'Subject: in\r\n\r\ntext');
    assert.equal(section(data, [1], 'HEADER'), 'Subject: in\r\n\r\n');
    assert.equal(section(data, [1], 'TEXT'), 'text');
    assert.equal(section(data, [1, 1], null), 'text');
  });
});

describe('filterHeaderFields', () => {
  const header = Buffer.from(
    'From: a@example.org\r\nSubject: folded\r\n  subject\r\nX-Bin: \xff\r\nsubject: again\r\ngarbage line\r\nTo: b@example.org\r\n\r\n',
    'latin1',
  );

  test('keeps matching fields byte for byte with folding, plus the blank line', () => {
    assert.equal(
      filterHeaderFields(header, ['SUBJECT', 'x-bin'], false).toString('latin1'),
      'Subject: folded\r\n  subject\r\nX-Bin: \xff\r\nsubject: again\r\n\r\n',
    );
  });

  test('NOT keeps the others', () => {
    assert.equal(
      filterHeaderFields(header, ['subject', 'x-bin'], true).toString('latin1'),
      'From: a@example.org\r\nTo: b@example.org\r\n\r\n',
    );
  });

  test('no match gives just the blank line; bare LF fields pass unchanged', () => {
    assert.equal(filterHeaderFields(header, ['cc'], false).toString(), '\r\n');
    assert.equal(filterHeaderFields(Buffer.from('A: 1\nB: 2\n\n'), ['b'], false).toString(), 'B: 2\n\r\n');
    assert.equal(filterHeaderFields(Buffer.from('A: 1'), ['a'], false).toString(), 'A: 1\r\n\r\n');
  });
});
