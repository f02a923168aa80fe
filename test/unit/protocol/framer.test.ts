import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFramer } from '../../../src/protocol/imap/framer.js';
import type { FrameEvent } from '../../../src/protocol/imap/framing-types.js';
import { frameAll, LIMITS } from './helpers.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const texts = (ev: FrameEvent): Array<string> => {
  assert.equal(ev.kind, 'command');
  return (ev as Extract<FrameEvent, { kind: 'command' }>).parts.map((p) =>
    p.kind === 'text' ? `T:${p.data.toString('latin1')}` : `L:${(p.data as Buffer).toString('latin1')}${p.binary ? '~' : ''}`,
  );
};

describe('CommandFramer lines', () => {
  test('a simple command gives its tag, one text part and the line', () => {
    const [ev, ...rest] = frameAll([b('a1 NOOP\r\n')]);
    assert.deepEqual(rest, []);
    assert.deepEqual(ev, { kind: 'command', tag: 'a1', parts: [{ kind: 'text', data: b('a1 NOOP') }], line: b('a1 NOOP') });
  });

  test('bare LF ends a line too', () => {
    const evs = frameAll([b('a1 NOOP\na2 CHECK\r\n')]);
    assert.deepEqual(evs.map(texts), [['T:a1 NOOP'], ['T:a2 CHECK']]);
  });

  test('a CR inside a line is kept as data', () => {
    const evs = frameAll([b('a1 NO\rOP\r\n')]);
    assert.deepEqual(evs.map(texts), [['T:a1 NO\rOP']]);
  });

  test('an empty line is a command with null tag', () => {
    const evs = frameAll([b('\r\n')]);
    assert.deepEqual(evs, [{ kind: 'command', tag: null, parts: [{ kind: 'text', data: b('') }], line: b('') }]);
  });

  test('SASL response line without SP is not held to the tag limit', () => {
    const long = 'A'.repeat(200);
    const evs = frameAll([b(`${long}\r\n`)], { ...LIMITS, maxTagLength: 10 });
    assert.equal(evs.length, 1);
    assert.equal(evs[0]!.kind, 'command');
    assert.equal((evs[0] as { tag: string | null }).tag, null);
  });

  test('a tag longer than maxTagLength is an error, then framing continues', () => {
    const evs = frameAll([b('abcdefghijklm NOOP\r\na NOOP\r\n')], { ...LIMITS, maxTagLength: 10 });
    assert.deepEqual(evs[0], { kind: 'error', tag: null, text: 'Tag too long', fatal: false });
    assert.deepEqual(texts(evs[1]!), ['T:a NOOP']);
  });

  test('8-bit bytes pass unchanged', () => {
    const line = Buffer.concat([b('a SELECT "'), Buffer.from('Bröte', 'utf8'), b('"')]);
    const evs = frameAll([Buffer.concat([line, b('\r\n')])]);
    assert.deepEqual((evs[0] as { line: Buffer }).line, line);
  });
});

describe('CommandFramer literals', () => {
  test('synchronizing literal: event with tag and command, then parts in order', () => {
    const evs = frameAll([b('a1 LOGIN {4}\r\nuser {4}\r\npass\r\n')]);
    assert.deepEqual(evs[0], { kind: 'literal', tag: 'a1', command: 'LOGIN', size: 4, synchronizing: true, binary: false });
    assert.equal(evs[1]!.kind, 'literal');
    assert.deepEqual(texts(evs[2]!), ['T:a1 LOGIN ', 'L:user', 'T: ', 'L:pass', 'T:']);
    assert.equal((evs[2] as { line: Buffer | null }).line, null);
  });

  test('non-synchronizing literal and literal8', () => {
    const evs = frameAll([b('a APPEND x ~{3+}\r\na\0c {0}\r\n\r\n')]);
    assert.deepEqual(evs[0], { kind: 'literal', tag: 'a', command: 'APPEND', size: 3, synchronizing: false, binary: true });
    assert.deepEqual(evs[1], { kind: 'literal', tag: 'a', command: 'APPEND', size: 0, synchronizing: true, binary: false });
    assert.deepEqual(texts(evs[2]!), ['T:a APPEND x ', 'L:a\0c~', 'T: ', 'L:', 'T:']);
  });

  test('UID commands are named "UID X" and lower case is upper-cased', () => {
    const evs = frameAll([b('t uid search text {2}\r\nhi\r\n')]);
    assert.equal((evs[0] as { command: string }).command, 'UID SEARCH');
  });

  test('{abc} and a lone } are plain text, not literals', () => {
    const evs = frameAll([b('a X {abc}\r\nb Y }\r\n')]);
    assert.deepEqual(evs.map(texts), [['T:a X {abc}'], ['T:b Y }']]);
  });

  test('stream mode gives slices, literal-end, then waits for finishStreamedLiteral', () => {
    const f = new CommandFramer(LIMITS);
    f.push(b('a APPEND INBOX {10}\r\n01234'));
    assert.equal(f.next()?.kind, 'literal');
    assert.equal(f.next(), null, 'waits for a decision');
    f.acceptLiteral('stream');
    assert.deepEqual(f.next(), { kind: 'literal-chunk', data: b('01234') });
    assert.equal(f.next(), null);
    f.push(b('56789\r\n'));
    assert.deepEqual(f.next(), { kind: 'literal-chunk', data: b('56789') });
    assert.deepEqual(f.next(), { kind: 'literal-end' });
    assert.equal(f.next(), null, 'waits for finishStreamedLiteral');
    const value = b('spooled');
    f.finishStreamedLiteral(value);
    const ev = f.next();
    assert.deepEqual(ev, {
      kind: 'command',
      tag: 'a',
      line: null,
      parts: [{ kind: 'text', data: b('a APPEND INBOX ') }, { kind: 'literal', data: value, binary: false }, { kind: 'text', data: b('') }],
    });
  });

  test('stream chunks are zero-copy slices of the pushed buffer', () => {
    const f = new CommandFramer(LIMITS);
    const chunk = b('a APPEND INBOX {3}\r\nxyz\r\n');
    f.push(chunk);
    f.next();
    f.acceptLiteral('stream');
    const ev = f.next() as { kind: 'literal-chunk'; data: Buffer };
    assert.equal(ev.data.buffer, chunk.buffer);
  });

  test('rejecting a synchronizing literal ends the command silently', () => {
    const evs = frameAll([b('a LOGIN {4}\r\nb NOOP\r\n')], LIMITS, 'reject');
    assert.equal(evs[0]!.kind, 'literal');
    assert.deepEqual(evs.slice(1).map(texts), [['T:b NOOP']]);
  });

  test('rejecting a non-synchronizing literal discards its bytes and the rest of the command', () => {
    const evs = frameAll([b('a LOGIN {8+}\r\nb NOOP\r\n {1+}\r\nx\r\nc NOOP\r\n')], LIMITS, 'reject');
    assert.equal(evs.length, 2);
    assert.deepEqual(texts(evs[1]!), ['T:c NOOP']);
  });

  test('an oversized non-synchronizing literal is discarded unbuffered, then one error', () => {
    const limits = { ...LIMITS, maxNonSyncLiteral: 4 };
    const f = new CommandFramer(limits);
    f.push(b('a APPEND x {100+}\r\n'));
    assert.equal(f.next(), null);
    f.push(Buffer.alloc(60, 0x41));
    assert.equal(f.next(), null);
    assert.equal(f.buffered, 0, 'discarded bytes are not kept');
    f.push(Buffer.alloc(40, 0x41));
    f.push(b('\r\nb NOOP\r\n'));
    const ev = f.next();
    assert.equal(ev?.kind, 'error');
    assert.equal((ev as { tag: string }).tag, 'a');
    assert.equal((ev as { fatal: boolean }).fatal, false);
    assert.equal((ev as { tooBig?: boolean }).tooBig, true, "answered with [TOOBIG]");
    assert.deepEqual(texts(f.next()!), ['T:b NOOP']);
  });

  test('a memory literal above maxMemoryLiteral is discarded defensively, then an error', () => {
    const evs = frameAll([b('a LOGIN {10}\r\n0123456789 x\r\nb NOOP\r\n')], { ...LIMITS, maxMemoryLiteral: 5 });
    assert.equal(evs[0]!.kind, 'literal');
    assert.deepEqual(evs[1], { kind: 'error', tag: 'a', text: 'Literal of 10 octets is too large', fatal: false, tooBig: true });
    assert.deepEqual(texts(evs[2]!), ['T:b NOOP']);
  });

  test('an absurd synchronizing literal size is a non-fatal error; non-synchronizing is fatal', () => {
    assert.deepEqual(frameAll([b('a LOGIN {99999999999}\r\n')]), [
      { kind: 'error', tag: 'a', text: 'Literal size too large', fatal: false },
    ]);
    assert.deepEqual(frameAll([b('a LOGIN {99999999999+}\r\n')]), [
      { kind: 'error', tag: 'a', text: 'Non-synchronizing literal size too large', fatal: true },
    ]);
  });
});

describe('CommandFramer line limit', () => {
  const limits = { ...LIMITS, maxLineLength: 20 };

  test('an overlong line is skipped to its end, then a non-fatal error with the tag', () => {
    const evs = frameAll([b(`a1 NOOP ${'x'.repeat(100)}\r\na2 NOOP\r\n`)], limits);
    assert.deepEqual(evs[0], { kind: 'error', tag: 'a1', text: 'Command line too long', fatal: false });
    assert.deepEqual(texts(evs[1]!), ['T:a2 NOOP']);
  });

  test('a line of exactly the limit passes; one more byte does not', () => {
    const ok = `a NOOP ${'x'.repeat(13)}`;
    assert.equal(ok.length, 20);
    assert.equal(frameAll([b(`${ok}\r\n`)], limits)[0]!.kind, 'command');
    assert.equal(frameAll([b(`${ok}y\r\n`)], limits)[0]!.kind, 'error');
    assert.equal(frameAll([b(`${ok}\n`)], limits)[0]!.kind, 'command');
  });

  test('an overlong line ending in a non-synchronizing literal skips the literal too', () => {
    const evs = frameAll([b(`a1 X ${'y'.repeat(50)} {9+}\r\nz NOOP\r\n\r\na2 NOOP\r\n`)], limits);
    assert.deepEqual(evs[0], { kind: 'error', tag: 'a1', text: 'Command line too long', fatal: false });
    assert.deepEqual(evs.slice(1).map(texts), [['T:a2 NOOP']]);
  });

  test('an overlong line never buffers past the limit', () => {
    const f = new CommandFramer(limits);
    f.push(Buffer.alloc(1_000_000, 0x41));
    assert.equal(f.next(), null);
    assert.ok(f.buffered <= 22, `buffered ${f.buffered}`);
    f.push(b('\r\nb NOOP\r\n'));
    assert.equal(f.next()?.kind, 'error');
    assert.deepEqual(texts(f.next()!), ['T:b NOOP']);
  });

  test('reset drops everything buffered', () => {
    const f = new CommandFramer(LIMITS);
    f.push(b('a STARTTLS\r\nb INJECTED'));
    assert.equal(f.next()?.kind, 'command');
    assert.ok(f.buffered > 0);
    f.reset();
    assert.equal(f.buffered, 0);
    f.push(b('c NOOP\r\n'));
    assert.deepEqual(texts(f.next()!), ['T:c NOOP']);
  });
});

describe('CommandFramer chunking', () => {
  test('byte-by-byte input gives the same events as one chunk', () => {
    const wire = b('a1 LOGIN {4}\r\nuser pass\r\na2 APPEND x ~{3+}\r\nabc\r\na3 NOOP\na4 X {2}\r\n\r\n\r\n');
    const whole = frameAll([wire]);
    const bytes = [...wire].map((x) => Buffer.from([x]));
    assert.deepEqual(frameAll(bytes), whole);
    assert.equal(whole.filter((e) => e.kind === 'command').length, 4);
  });
});

describe('CommandFramer: a CATENATE URL literal is marked (RFC 4469 5, url = "URL" SP astring)', () => {
  const marks = (wire: string): boolean[] =>
    frameAll([b(wire)])
      .filter((e): e is Extract<FrameEvent, { kind: 'literal' }> => e.kind === 'literal')
      .map((e) => e.catenateUrl === true);

  test('the URL astring of APPEND, REPLACE and UID REPLACE, in any case, after TEXT parts', () => {
    assert.deepEqual(marks('a APPEND x CATENATE (URL {5}\r\n;UID=)\r\n'), [true]);
    assert.deepEqual(marks('a append x catenate (url {5+}\r\n;UID=)\r\n'), [true]);
    assert.deepEqual(marks('a UID REPLACE 1 x CATENATE (TEXT {2}\r\nhi URL {3}\r\n;U= TEXT {1}\r\nz)\r\n'), [false, true, false]);
    assert.deepEqual(marks('a REPLACE 1 x (\\Seen) CATENATE (URL "q" URL {1}\r\nx)\r\n'), [true]);
    // MULTIAPPEND: the second message's CATENATE too.
    assert.deepEqual(marks('a APPEND x {1}\r\nm CATENATE (URL {1}\r\nu)\r\n'), [false, true]);
  });

  test('message data and other commands are not', () => {
    // A mailbox named URL: its literal is the message.
    assert.deepEqual(marks('a APPEND URL {3}\r\nxyz\r\n'), [false]);
    assert.deepEqual(marks('a REPLACE 2 URL {3}\r\nxyz\r\n'), [false]);
    assert.deepEqual(marks('a APPEND x CATENATE (TEXT {3}\r\nxyz)\r\n'), [false]);
    assert.deepEqual(marks('a APPEND x CATENATE (UTF8 (~{1}\r\nz))\r\n'), [false]);
    assert.deepEqual(marks('a LOGIN URL {3}\r\nxyz\r\n'), [false]);
    assert.deepEqual(marks('a SETMETADATA x CATENATE (URL {1}\r\nx)\r\n'), [false]);
    // "XURL" is not the keyword.
    assert.deepEqual(marks('a APPEND x CATENATE (XURL {1}\r\nx)\r\n'), [false]);
  });
});
