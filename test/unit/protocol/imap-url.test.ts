// IMAP URLs of messages and parts (RFC 5092, RFC 5550 ;PARTIAL=) as CATENATE
// uses them: a table of URLs and the values they give, the refusals with
// their reasons, relative resolution against the selected mailbox, a
// fast-check property (anything in -> a value or a reason, never a throw;
// generated URLs parse back to what built them), and the CATENATE/REPLACE
// grammar of the command parser.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseImapUrl, percentDecode, percentEncodeMailbox, resolveUrlMailbox, type ImapMessageUrl } from '../../../src/protocol/imap/imap-url.js';
import { cmd, err } from './helpers.js';

const SEED = 20261122;
const whole = { part: [], text: null, fields: [] };

function url(u: Partial<ImapMessageUrl>): ImapMessageUrl {
  return { form: 'absolute', mailbox: 'INBOX', uidValidity: null, uid: 1, section: null, partial: null, ...u };
}

describe('parseImapUrl', () => {
  const good: Array<[string, ImapMessageUrl]> = [
    ['/INBOX;UIDVALIDITY=785799047/;UID=11467', url({ uidValidity: 785799047, uid: 11467 })],
    ['/Drafts;UIDVALIDITY=385759045/;UID=20/;section=HEADER', url({ mailbox: 'Drafts', uidValidity: 385759045, uid: 20, section: { ...whole, text: 'HEADER' } })],
    ['/Drafts;UIDVALIDITY=385759045/;UID=20/;Section=2.MIME', url({ mailbox: 'Drafts', uidValidity: 385759045, uid: 20, section: { part: [2], text: 'MIME', fields: [] } })],
    ['/INBOX;UIDVALIDITY=785799047/;UID=113330/;section=1.5.9', url({ uidValidity: 785799047, uid: 113330, section: { ...whole, part: [1, 5, 9] } })],
    ['/Drafts/;UID=3002', url({ mailbox: 'Drafts', uid: 3002 })],
    ['/a/b%20c/;UID=7', url({ mailbox: 'a/b c', uid: 7 })],
    ['/%E2%82%AC/;UID=1', url({ mailbox: '€', uid: 1 })],
    ['/INBOX/;UID=5/;SECTION=HEADER.FIELDS%20(Subject%20FROM)', url({ uid: 5, section: { part: [], text: 'HEADER.FIELDS', fields: ['Subject', 'FROM'] } })],
    ['/INBOX/;UID=5/;SECTION=1.2/;PARTIAL=10.20', url({ uid: 5, section: { ...whole, part: [1, 2] }, partial: { offset: 10, length: 20 } })],
    ['/INBOX/;UID=5/;PARTIAL=0', url({ uid: 5, partial: { offset: 0, length: null } })],
    ['/INBOX/;uid=5/;partial=3.4', url({ uid: 5, partial: { offset: 3, length: 4 } })],
    [';UID=9', url({ form: 'base', mailbox: null, uid: 9 })],
    [';UID=9/;SECTION=TEXT/;PARTIAL=1.1', url({ form: 'base', mailbox: null, uid: 9, section: { ...whole, text: 'TEXT' }, partial: { offset: 1, length: 1 } })],
    ['Sent;UIDVALIDITY=3/;UID=4', url({ form: 'relative', mailbox: 'Sent', uidValidity: 3, uid: 4 })],
  ];
  for (const [text, expected] of good) test(`parses ${text}`, () => assert.deepEqual(parseImapUrl(text), { ok: true, url: expected }));

  const bad: Array<[string, string]> = [
    ['', 'empty URL'],
    ['imap://bob@example.org/INBOX/;UID=1', 'only relative IMAP URLs to this server are supported'],
    ['//example.org/INBOX/;UID=1', 'only URLs to this server are supported'],
    ['/INBOX?SUBJECT%20x', 'not a message URL (message list)'],
    ['/INBOX', 'no ;UID= in URL'],
    ['/INBOX;UIDVALIDITY=1', 'not a message or message part URL'],
    ['/INBOX/;UID=0', 'invalid UID'],
    ['/INBOX/;UID=01', 'invalid UID'],
    ['/INBOX/;UID=4294967296', 'invalid UID'],
    ['/INBOX;UIDVALIDITY=x/;UID=1', 'invalid UIDVALIDITY'],
    ['/INBOX/;UID=1/;SECTION=1.0', 'invalid SECTION'],
    ['/INBOX/;UID=1/;SECTION=BOGUS', 'invalid SECTION'],
    ['/INBOX/;UID=1/;SECTION=MIME', 'invalid SECTION'],
    ['/INBOX/;UID=1/;PARTIAL=1.0', 'invalid PARTIAL range'],
    ['/INBOX/;UID=1/;PARTIAL=.5', 'invalid PARTIAL range'],
    ['/INBOX/;UID=1/;PARTIAL=1.2/;SECTION=1', 'not a message or message part URL'],
    ['/INBOX/;UID=1;EXPIRE=2026-01-01T00:00:00Z;URLAUTH=anonymous', 'URLAUTH is not supported'],
    ['/IN BOX/;UID=1', 'invalid character in URL at offset 3'],
    ['/INBOX/;UID=1#frag', 'invalid character in URL at offset 13'],
    ['/%FF/;UID=1', 'invalid %-escape or UTF-8 in the mailbox name'],
    ['/%4/;UID=1', 'invalid %-escape or UTF-8 in the mailbox name'],
    ['/;UID=1', 'empty mailbox name'],
    [';UIDVALIDITY=1/;UID=1', 'not a message or message part URL'],
    [';SECTION=1', 'not a message or message part URL'],
  ];
  for (const [text, reason] of bad) test(`refuses ${JSON.stringify(text)}`, () => assert.deepEqual(parseImapUrl(text), { ok: false, reason }));
});

describe('resolveUrlMailbox (RFC 3986 5.2.3 against imap://user@server/<selected>)', () => {
  const p = (text: string): ImapMessageUrl => {
    const r = parseImapUrl(text);
    assert.ok(r.ok);
    return r.url;
  };
  test('absolute paths ignore the base', () => assert.equal(resolveUrlMailbox(p('/Sent/;UID=1'), 'Drafts'), 'Sent'));
  test('";UID=" is the selected mailbox, none without one', () => {
    assert.equal(resolveUrlMailbox(p(';UID=1'), 'Work/Drafts'), 'Work/Drafts');
    assert.equal(resolveUrlMailbox(p(';UID=1'), null), null);
  });
  test('a relative path replaces the last level of the base', () => {
    assert.equal(resolveUrlMailbox(p('Sent/;UID=1'), 'Work/Drafts'), 'Work/Sent');
    assert.equal(resolveUrlMailbox(p('Sent/;UID=1'), 'Drafts'), 'Sent');
    assert.equal(resolveUrlMailbox(p('Sent/;UID=1'), null), 'Sent');
  });
});

describe('IMAP URL properties', () => {
  test('any string gives a value or a non-empty reason, never a throw', () => {
    const chars = fc.constantFrom(...'/;=%.:@&!$\'()*+,-_~?#" aZ09UIDVALIDTYSECNPRT\u00e9\u20ac'.split(''));
    const prefixes = fc.constantFrom('', '/INBOX', '/INBOX/;UID=1', ';UID=2', 'x;UIDVALIDITY=3/;UID=4/;SECTION=', '/a/;UID=1/;PARTIAL=');
    fc.assert(
      fc.property(prefixes, fc.array(chars, { maxLength: 40 }), (prefix, tail) => {
        const r = parseImapUrl(prefix + tail.join(''));
        if (!r.ok) assert.ok(r.reason.length > 0);
        else assert.ok(r.url.uid >= 1 && r.url.uid <= 0xffffffff);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  test('a built URL parses back to its parts', () => {
    const name = fc.array(fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }).filter((s) => !s.includes('/')), { minLength: 1, maxLength: 3 });
    const sec = fc.option(fc.array(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 4 }), { nil: null });
    const part = fc.option(fc.tuple(fc.nat(), fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: null })), { nil: null });
    fc.assert(
      fc.property(name, fc.option(fc.integer({ min: 1, max: 0xffffffff }), { nil: null }), fc.integer({ min: 1, max: 0xffffffff }), sec, part, (levels, validity, uid, path, partial) => {
        const mailbox = levels.join('/');
        let text = '/' + percentEncodeMailbox(mailbox) + (validity === null ? '' : `;UIDVALIDITY=${validity}`) + `/;UID=${uid}`;
        if (path) text += `/;SECTION=${path.join('.')}`;
        if (partial) text += `/;PARTIAL=${partial[0]}` + (partial[1] === null ? '' : `.${partial[1]}`);
        const r = parseImapUrl(text);
        assert.ok(r.ok, `${text}: ${r.ok ? '' : r.reason}`);
        assert.equal(r.url.mailbox, mailbox);
        assert.equal(r.url.uidValidity, validity);
        assert.equal(r.url.uid, uid);
        assert.deepEqual(r.url.section, path ? { part: path, text: null, fields: [] } : null);
        assert.deepEqual(r.url.partial, partial ? { offset: partial[0], length: partial[1] } : null);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  test('percent encoding round-trips any UTF-8 name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 20 }), (s) => assert.equal(percentDecode(percentEncodeMailbox(s)), s)),
      { seed: SEED, numRuns: 1000 },
    );
  });
});

describe('APPEND CATENATE and REPLACE grammar', () => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  test('CATENATE with TEXT, URL and UTF8 parts, inside MULTIAPPEND', () => {
    assert.deepEqual(
      cmd('a APPEND Drafts (\\Seen) CATENATE (URL "/Drafts;UIDVALIDITY=1/;UID=20/;section=HEADER" TEXT {2}\r\nxy url ";UID=3" UTF8 (~{1}\r\nz)) {1}\r\nm'),
      {
        name: 'APPEND',
        mailbox: 'Drafts',
        messages: [
          {
            flags: ['\\Seen'],
            date: null,
            data: b(''),
            binary: false,
            catenate: [
              { kind: 'URL', url: '/Drafts;UIDVALIDITY=1/;UID=20/;section=HEADER' },
              { kind: 'TEXT', data: b('xy'), binary: false },
              { kind: 'URL', url: ';UID=3' },
              { kind: 'TEXT', data: b('z'), binary: true },
            ],
          },
          { flags: [], date: null, data: b('m'), binary: false },
        ],
      },
    );
  });
  test('a URL in a literal held in memory is read as the URL', () => {
    assert.deepEqual(cmd('a APPEND x CATENATE (URL {5}\r\n;UID=)'), {
      name: 'APPEND',
      mailbox: 'x',
      messages: [{ flags: [], date: null, data: b(''), binary: false, catenate: [{ kind: 'URL', url: ';UID=' }] }],
    });
  });
  test('CATENATE errors', () => {
    assert.equal(err('a APPEND x CATENATE ()'), 'Expected at least one item in the CATENATE parts');
    assert.equal(err('a APPEND x CATENATE (BODY "x")'), "Expected TEXT, URL or UTF8 in CATENATE, found 'BODY'");
    assert.equal(err('a APPEND x CATENATE (TEXT "x")'), 'Expected literal, found \'"x")\'');
    assert.equal(err('a APPEND x CATENATE (UTF8 ({1}\r\nx))'), 'UTF8 message data must be a literal8 (~{n})');
    assert.equal(err('a APPEND x CATENATE (URL "/a/;UID=1"'), "Expected SP between items of the CATENATE parts");
  });
  test('REPLACE and UID REPLACE', () => {
    assert.deepEqual(cmd('a REPLACE 4 Drafts (\\Seen \\Draft) {2}\r\nhi'), {
      name: 'REPLACE',
      uid: false,
      id: 4,
      mailbox: 'Drafts',
      message: { flags: ['\\Seen', '\\Draft'], date: null, data: b('hi'), binary: false },
    });
    assert.deepEqual(cmd('a uid replace * Drafts CATENATE (URL ";UID=3")'), {
      name: 'REPLACE',
      uid: true,
      id: '*',
      mailbox: 'Drafts',
      message: { flags: [], date: null, data: b(''), binary: false, catenate: [{ kind: 'URL', url: ';UID=3' }] },
    });
    assert.equal(err('a REPLACE 0 x {1}\r\nm'), 'Expected message sequence number, found 0');
    assert.equal(err('a REPLACE 1 x {1}\r\nm {1}\r\nn'), 'Unexpected SP after the REPLACE arguments');
  });
});
