import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { PassThrough } from 'node:stream';
import { chunksOf, feedDataStream, libraryFeedDataStream, useLinearDataPhase } from '../../../src/lmtp/data-phase.js';
import { parseData, type Feed, type Outcome } from './data-phase-harness.js';

/** The outcome only (the pieces' sizes are data-phase-whole.test.ts's concern). */
async function parse(feed: Feed, input: Buffer, sizes: number[]): Promise<Outcome> {
  return (await parseData(feed, input, sizes)).outcome;
}

/** Message bodies rich in what DATA parsing cares about: line starts, dots, CR and LF, and runs long enough for the fast path. */
const bodyPiece = fc.oneof(
  fc.constantFrom('.', '..', '\r', '\n', '\r\n', '\r\n.', '\r\n..', '\r\n.\r\n', '\n.\n', '.\r\n', 'a', ' '),
  fc.integer({ min: 1, max: 300 }).map((n) => 'x'.repeat(n)),
);
// One message per session: smtp-server 3.21.6's continue() clears the continuation
// of a second pipelined message when its first one's remainder is parsed from inside
// it (tiny chunks), with either DATA parser; that hang is not what is compared here.
const session = fc
  .array(bodyPiece, { maxLength: 60 })
  .map((body) => Buffer.from(`MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n${body.join('')}\r\n.\r\nRSET\r\nQUIT\r\n`, 'latin1'));

describe('LMTP DATA phase (feedDataStream)', () => {
  test('same messages, byte counts and following commands as smtp-server, any chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(session, fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 10 }), async (input, sizes) => {
        const library = await parse(libraryFeedDataStream, input, sizes);
        const linear = await parse(feedDataStream, input, sizes);
        assert.deepEqual(linear, library);
      }),
      { numRuns: 400 },
    );
  });

  test('the start of a message: whole in its first chunk, leading dots, a first chunk shorter than the kept bytes', async () => {
    const text = 'Subject: x\r\n\r\n' + 'a line of text\r\n'.repeat(8);
    const bodies = [text, `.${text}`, `..${text}`, `...${text}`, `.\r\n${text}`, '', '\r\n', `\r\n.${text}`, `x\r\n..${text}`];
    // 6 = "DATA\r\n": the message starts a chunk; then first chunks of 1-4 bytes (kept, joined by the library) and whole messages.
    const chunkings = [[6, 100_000], [6, 1, 100_000], [6, 2, 100_000], [6, 3, 100_000], [6, 4, 100_000], [6, 5, 100_000], [6, 17, 100_000], [6, 1, 1, 100_000], [100_000]];
    let fastAtStart = 0;
    for (const body of bodies) {
      const input = Buffer.from(`DATA\r\n${body}\r\n.\r\nRSET\r\nQUIT\r\n`, 'latin1');
      for (const sizes of chunkings) {
        const library = await parse(libraryFeedDataStream, input, sizes);
        const linear = await parse(feedDataStream, input, sizes);
        assert.deepEqual(linear, library, JSON.stringify({ body: body.slice(0, 8), sizes }));
        if (!body.startsWith('.') && sizes[1] === 100_000) fastAtStart++;
      }
    }
    assert.ok(fastAtStart > 0);
  });

  test('a large dot-stuffed message in socket-sized chunks', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(i % 7 === 0 ? `..stuffed line ${i}` : i % 11 === 0 ? '' : `line ${i} ${'y'.repeat(i % 90)}`);
    const body = lines.join('\r\n');
    const input = Buffer.from(`DATA\r\n${body}\r\n.\r\nQUIT\r\n`, 'latin1');
    const library = await parse(libraryFeedDataStream, input, [65_536, 1_000, 64_000]);
    const linear = await parse(feedDataStream, input, [65_536, 1_000, 64_000]);
    assert.deepEqual(linear, library);
    // Dot-stuffing undone at every line start, the first line's included.
    assert.equal(linear.messages[0]!.data, ('\r\n' + body).replace(/\r\n\.\./g, '\r\n.').slice(2) + '\r\n');
    assert.deepEqual(linear.commands, ['DATA', 'QUIT']);
  });

  test('installed on SMTPStream for the checked smtp-server version', () => {
    assert.equal(useLinearDataPhase(), true);
    assert.equal(SMTPStream.prototype._feedDataStream, feedDataStream);
    assert.equal(useLinearDataPhase(), true);
  });
});

describe('chunksOf (the DATA stream as the ingest reads it)', () => {
  test('the chunks as written, not joined; the stream pauses while one waits', async () => {
    const stream = new PassThrough();
    const pieces = [Buffer.from('abcd'), Buffer.from('ef'), Buffer.from('ghijk')];
    for (const p of pieces) stream.write(p);
    stream.end();
    const got: Buffer[] = [];
    for await (const chunk of chunksOf(stream)) {
      got.push(chunk);
      if (got.length === 1) assert.equal(stream.isPaused(), true);
    }
    assert.deepEqual(got, pieces);
  });

  test('a head buffer comes first, then the chunks; the same checks after it', async () => {
    const stream = new PassThrough();
    const pieces = [Buffer.from('abcd'), Buffer.from('ef')];
    for (const p of pieces) stream.write(p);
    stream.end();
    const head = Buffer.from('Return-Path: <a@b>\r\n');
    const got: Buffer[] = [];
    for await (const chunk of chunksOf(stream, head)) got.push(chunk);
    assert.deepEqual(got, [head, ...pieces]);

    const gone = new PassThrough();
    gone.destroy();
    const iterator = chunksOf(gone, head)[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value, head);
    await assert.rejects(iterator.next(), /closed before its end/);
  });

  test('a stream destroyed mid-message (the client went away) fails the consumer', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from('partial'));
    const iterator = chunksOf(stream)[Symbol.asyncIterator]();
    assert.deepEqual((await iterator.next()).value, Buffer.from('partial'));
    const next = iterator.next();
    stream.destroy(new Error('Connection closed before the message was received in full'));
    await assert.rejects(next, /received in full/);
  });

  test('destroyed without an error, or before it was read: also a failure; ended before: nothing', async () => {
    const quiet = new PassThrough();
    const iterator = chunksOf(quiet)[Symbol.asyncIterator]();
    const next = iterator.next();
    quiet.destroy();
    await assert.rejects(next, /closed before its end/);

    const gone = new PassThrough();
    gone.destroy();
    await assert.rejects(chunksOf(gone).next(), /closed before its end/);

    const ended = new PassThrough();
    ended.end();
    ended.resume();
    await new Promise((resolve) => ended.once('end', resolve));
    assert.equal((await chunksOf(ended).next()).done, true);
  });

  test('a consumer that stops early leaves the stream paused and intact for its owner', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from('one'));
    stream.write(Buffer.from('two'));
    for await (const chunk of chunksOf(stream)) {
      assert.deepEqual(chunk, Buffer.from('one'));
      break;
    }
    assert.equal(stream.destroyed, false);
    assert.equal(stream.listenerCount('data'), 0);
    // The owner (smtp-server) reads the rest to its end.
    const rest: Buffer[] = [];
    stream.on('data', (d: Buffer) => rest.push(d));
    stream.end();
    stream.resume();
    await new Promise((resolve) => stream.once('end', resolve));
    assert.equal(Buffer.concat(rest).toString(), 'two');
  });
});
