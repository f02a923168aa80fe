import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope, MimePart } from '../../../src/mime/types.js';
import type { Response, SerializeOptions, StreamedLiteral } from '../../../src/protocol/imap/response.js';
import { serializeResponse, serializeResponses, wireToBuffer } from '../../../src/protocol/imap/serializer.js';
import { compressUids } from '../../../src/protocol/imap/sequence.js';

const REV1: SerializeOptions = { utf8: false, rev2: false };
const REV2: SerializeOptions = { utf8: true, rev2: true };
const wire = (r: Response, opts = REV1): string => wireToBuffer(serializeResponse(r, opts)).toString('utf8');
const set = (s: string) => ({ kind: 'set' as const, ranges: s.split(',').map((x) => {
  const [a, b = a] = x.split(':');
  const n = (v: string) => (v === '*' ? '*' : Number(v)) as number | '*';
  return { start: n(a!), end: n(b!) };
}) });

function part(p: Partial<MimePart>): MimePart {
  return {
    headerStart: 0, bodyStart: 0, bodyEnd: 0, type: 'text', subtype: 'plain', params: [], id: null, description: null,
    encoding: '7bit', size: 0, lines: 0, md5: null, disposition: null, language: null, location: null, ...p,
  };
}

// RFC 9051 section 8 example message.
const rfcEnvelope: Envelope = {
  date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
  subject: 'IMAP4rev2 WG mtg summary and minutes',
  from: [{ name: 'Terry Gray', adl: null, mailbox: 'gray', host: 'cac.washington.edu' }],
  sender: [{ name: 'Terry Gray', adl: null, mailbox: 'gray', host: 'cac.washington.edu' }],
  replyTo: [{ name: 'Terry Gray', adl: null, mailbox: 'gray', host: 'cac.washington.edu' }],
  to: [{ name: null, adl: null, mailbox: 'imap', host: 'cac.washington.edu' }],
  cc: [
    { name: null, adl: null, mailbox: 'minutes', host: 'CNRI.Reston.VA.US' },
    { name: 'John Klensin', adl: null, mailbox: 'KLENSIN', host: 'MIT.EDU' },
  ],
  bcc: null,
  inReplyTo: null,
  messageId: '<B27397-0100000@cac.washington.ed>',
};

describe('status responses', () => {
  const cases: Array<[Response, string]> = [
    [{ kind: 'tagged', tag: 'a1', status: 'OK', text: 'LOGIN completed' }, 'a1 OK LOGIN completed\r\n'],
    [{ kind: 'tagged', tag: 'a2', status: 'NO', code: { kind: 'TRYCREATE' }, text: 'No such mailbox' }, 'a2 NO [TRYCREATE] No such mailbox\r\n'],
    [{ kind: 'tagged', tag: 'a', status: 'OK', code: { kind: 'READ-WRITE' }, text: '' }, 'a OK [READ-WRITE] \r\n'],
    [{ kind: 'status', status: 'OK', code: { kind: 'UIDVALIDITY', uidValidity: 3857529045 }, text: 'UIDs valid' }, '* OK [UIDVALIDITY 3857529045] UIDs valid\r\n'],
    [{ kind: 'status', status: 'OK', code: { kind: 'UIDNEXT', uid: 4392 }, text: 'x' }, '* OK [UIDNEXT 4392] x\r\n'],
    [{ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: 715194045007 }, text: 'x' }, '* OK [HIGHESTMODSEQ 715194045007] x\r\n'],
    [
      { kind: 'status', status: 'OK', code: { kind: 'PERMANENTFLAGS', flags: ['\\Deleted', '\\Seen', '\\*'] }, text: 'Limited' },
      '* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n',
    ],
    [
      { kind: 'tagged', tag: 'A003', status: 'OK', code: { kind: 'APPENDUID', uidValidity: 38505, uids: set('3955') }, text: 'APPEND completed' },
      'A003 OK [APPENDUID 38505 3955] APPEND completed\r\n',
    ],
    [
      { kind: 'tagged', tag: 'A004', status: 'OK', code: { kind: 'COPYUID', uidValidity: 38505, source: set('304,319:320'), target: set('3956:3958') }, text: 'Done' },
      'A004 OK [COPYUID 38505 304,319:320 3956:3958] Done\r\n',
    ],
    [{ kind: 'tagged', tag: 'd', status: 'OK', code: { kind: 'MODIFIED', set: set('7,9') }, text: 'Conditional STORE failed' }, 'd OK [MODIFIED 7,9] Conditional STORE failed\r\n'],
    [{ kind: 'tagged', tag: 'b', status: 'NO', code: { kind: 'BADCHARSET', charsets: ['UTF-8', 'US-ASCII'] }, text: 'x' }, 'b NO [BADCHARSET ("UTF-8" "US-ASCII")] x\r\n'],
    [{ kind: 'tagged', tag: 'b', status: 'NO', code: { kind: 'BADCHARSET', charsets: [] }, text: 'x' }, 'b NO [BADCHARSET] x\r\n'],
    [{ kind: 'status', status: 'OK', code: { kind: 'CAPABILITY', capabilities: ['IMAP4rev2', 'AUTH=PLAIN'] }, text: 'ready' }, '* OK [CAPABILITY IMAP4rev2 AUTH=PLAIN] ready\r\n'],
    [{ kind: 'status', status: 'OK', code: { kind: 'MAILBOXID', id: 'F2212ea87-6097' }, text: 'Ok' }, '* OK [MAILBOXID (F2212ea87-6097)] Ok\r\n'],
    [{ kind: 'status', status: 'BYE', text: 'Logging out' }, '* BYE Logging out\r\n'],
    [{ kind: 'status', status: 'PREAUTH', text: 'welcome' }, '* PREAUTH welcome\r\n'],
    [{ kind: 'tagged', tag: 'a', status: 'BAD', text: 'bad\r\nline' }, 'a BAD bad line\r\n'],
    [{ kind: 'tagged', tag: 'a', status: 'NO', text: 'Grüße' }, 'a NO Gr??e\r\n'],
    [{ kind: 'continuation', text: 'Ready for literal' }, '+ Ready for literal\r\n'],
    [{ kind: 'continuation', text: '' }, '+ \r\n'],
  ];
  for (const [r, expected] of cases) test(JSON.stringify(expected), () => assert.equal(wire(r), expected));
  test('UTF-8 text passes when utf8 is on', () => assert.equal(wire({ kind: 'tagged', tag: 'a', status: 'NO', text: 'Grüße' }, REV2), 'a NO Grüße\r\n'));
});

describe('mailbox data', () => {
  const cases: Array<[Response, string, SerializeOptions?]> = [
    [{ kind: 'CAPABILITY', capabilities: ['IMAP4rev2', 'IMAP4rev1', 'IDLE'] }, '* CAPABILITY IMAP4rev2 IMAP4rev1 IDLE\r\n'],
    [{ kind: 'ENABLED', capabilities: ['CONDSTORE'] }, '* ENABLED CONDSTORE\r\n'],
    [{ kind: 'ENABLED', capabilities: [] }, '* ENABLED\r\n'],
    [{ kind: 'EXISTS', count: 18 }, '* 18 EXISTS\r\n'],
    [{ kind: 'RECENT', count: 2 }, '* 2 RECENT\r\n'],
    [{ kind: 'EXPUNGE', seq: 3 }, '* 3 EXPUNGE\r\n'],
    [{ kind: 'VANISHED', earlier: true, uids: compressUids([41, 43, 44, 45, 46, 47, 48, 49, 50]) }, '* VANISHED (EARLIER) 41,43:50\r\n'],
    [{ kind: 'VANISHED', earlier: false, uids: set('405:409') }, '* VANISHED 405:409\r\n'],
    [{ kind: 'FLAGS', flags: ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] }, '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n'],
    [{ kind: 'LIST', attributes: ['\\Noselect'], delimiter: '/', mailbox: '~/Mail/foo' }, '* LIST (\\Noselect) "/" ~/Mail/foo\r\n'],
    [{ kind: 'LIST', attributes: [], delimiter: null, mailbox: '' }, '* LIST () NIL ""\r\n'],
    [{ kind: 'LIST', attributes: [], delimiter: '\\', mailbox: 'a"b' }, '* LIST () "\\\\" "a\\"b"\r\n'],
    [{ kind: 'LSUB', attributes: [], delimiter: '.', mailbox: '#news.comp.mail.misc' }, '* LSUB () "." #news.comp.mail.misc\r\n'],
    [{ kind: 'LIST', attributes: [], delimiter: '/', mailbox: 'INBOX', oldName: 'inbox' }, '* LIST () "/" INBOX ("OLDNAME" (inbox))\r\n'],
    [
      { kind: 'LIST', attributes: ['\\NonExistent'], delimiter: '/', mailbox: 'Foo', childInfo: ['SUBSCRIBED'] },
      '* LIST (\\NonExistent) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n',
    ],
    [{ kind: 'LIST', attributes: [], delimiter: '/', mailbox: 'Entwürfe' }, '* LIST () "/" {9}\r\nEntwürfe\r\n'],
    [{ kind: 'LIST', attributes: [], delimiter: '/', mailbox: 'Entwürfe' }, '* LIST () "/" "Entwürfe"\r\n', REV2],
    [{ kind: 'STATUS', mailbox: 'blurdybloop', values: { MESSAGES: 231, UIDNEXT: 44292 } }, '* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n'],
    [{ kind: 'STATUS', mailbox: 'x', values: { MAILBOXID: 'F2212ea87', HIGHESTMODSEQ: 7 } }, '* STATUS x (MAILBOXID (F2212ea87) HIGHESTMODSEQ 7)\r\n'],
    [{ kind: 'SEARCH', numbers: [2, 3, 6] }, '* SEARCH 2 3 6\r\n'],
    [{ kind: 'SEARCH', numbers: [] }, '* SEARCH\r\n'],
    [{ kind: 'SEARCH', numbers: [2, 5], modseq: 917162500 }, '* SEARCH 2 5 (MODSEQ 917162500)\r\n'],
    [{ kind: 'ESEARCH', tag: 'A282', uid: false, min: 2, count: 3 }, '* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n'],
    [{ kind: 'ESEARCH', tag: 'A283', uid: true, all: set('4,10:11'), max: 11, modseq: 5 }, '* ESEARCH (TAG "A283") UID MAX 11 ALL 4,10:11 MODSEQ 5\r\n'],
    [{ kind: 'ESEARCH', tag: null, uid: false }, '* ESEARCH\r\n'],
    [
      { kind: 'ESEARCH', tag: 'A01', uid: true, partial: { range: { start: -1, end: -100 }, set: set('200:250,252:300') } },
      '* ESEARCH (TAG "A01") UID PARTIAL (-1:-100 200:250,252:300)\r\n',
    ],
    [{ kind: 'ESEARCH', tag: 'A02', uid: true, partial: { range: { start: 23500, end: 24000 }, set: null } }, '* ESEARCH (TAG "A02") UID PARTIAL (23500:24000 NIL)\r\n'],
    [
      { kind: 'NAMESPACE', personal: [{ prefix: '', delimiter: '/' }], otherUsers: [{ prefix: '~', delimiter: '/' }], shared: null },
      '* NAMESPACE (("" "/")) (("~" "/")) NIL\r\n',
    ],
    [{ kind: 'ID', params: [['name', 'Petrel'], ['version', null]] }, '* ID ("name" "Petrel" "version" NIL)\r\n'],
    [{ kind: 'ID', params: null }, '* ID NIL\r\n'],
  ];
  for (const [r, expected, opts] of cases) test(JSON.stringify(expected), () => assert.equal(wire(r, opts), expected));
});

describe('FETCH', () => {
  test('RFC 9051 section 8 "fetch 12 full" response, byte for byte', () => {
    const r: Response = {
      kind: 'FETCH',
      seq: 12,
      items: [
        { kind: 'FLAGS', flags: ['\\Seen'] },
        { kind: 'INTERNALDATE', date: new Date('1996-07-17T09:44:25Z'), offsetMinutes: -420 },
        { kind: 'RFC822.SIZE', size: 4286 },
        { kind: 'ENVELOPE', envelope: rfcEnvelope },
        { kind: 'BODY', body: part({ params: [['CHARSET', 'US-ASCII']], size: 3028, lines: 92 }) },
      ],
    };
    const expected =
      '* 12 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 ENVELOPE (' +
      '"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary and minutes" ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
      '(("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ' +
      '((NIL NIL "minutes" "CNRI.Reston.VA.US") ("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL ' +
      '"<B27397-0100000@cac.washington.ed>") BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92))\r\n';
    assert.equal(wire(r), expected);
  });

  const multipart = part({
    type: 'multipart',
    subtype: 'mixed',
    params: [['boundary', 'xyz']],
    children: [
      part({ params: [['CHARSET', 'US-ASCII']], size: 1152, lines: 23 }),
      part({
        params: [['CHARSET', 'US-ASCII'], ['NAME', 'cc.diff']],
        id: '<960723163407.20117h@cac.washington.edu>',
        description: 'Compiler diff',
        encoding: 'base64',
        size: 4554,
        lines: 73,
      }),
    ],
  });

  test('RFC 9051 7.5.2 multipart BODY example (no extension data)', () => {
    assert.equal(
      wire({ kind: 'FETCH', seq: 1, items: [{ kind: 'BODY', body: multipart }] }),
      '* 1 FETCH (BODY (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73) "MIXED"))\r\n',
    );
  });

  test('BODYSTRUCTURE carries extension data for multipart and single parts', () => {
    const withExt = {
      ...multipart,
      language: ['en', 'de'],
      children: [
        multipart.children![0]!,
        { ...multipart.children![1]!, md5: 'Q2hlY2sgSW50ZWdyaXR5IQ==', disposition: { type: 'attachment', params: [['filename', 'cc.diff']] as Array<[string, string]> }, language: ['en'], location: 'http://x/y' },
      ],
    };
    assert.equal(
      wire({ kind: 'FETCH', seq: 2, items: [{ kind: 'BODYSTRUCTURE', body: withExt }] }),
      '* 2 FETCH (BODYSTRUCTURE (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23 NIL NIL NIL NIL)' +
        '("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiler diff" "BASE64" 4554 73 ' +
        '"Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("filename" "cc.diff")) "en" "http://x/y") "MIXED" ("boundary" "xyz") NIL ("en" "de") NIL))\r\n',
    );
  });

  test('message/rfc822 includes envelope, body and lines; basic types have no lines', () => {
    const inner = part({ type: 'image', subtype: 'png', encoding: 'base64', size: 10 });
    const msg = part({
      type: 'message',
      subtype: 'rfc822',
      size: 300,
      lines: 12,
      message: { envelope: { ...rfcEnvelope, from: null, sender: null, replyTo: null, to: null, cc: null, subject: null, date: null, messageId: null }, root: inner },
    });
    assert.equal(
      wire({ kind: 'FETCH', seq: 3, items: [{ kind: 'BODY', body: msg }] }),
      '* 3 FETCH (BODY ("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 300 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ' +
        '("IMAGE" "PNG" NIL NIL NIL "BASE64" 10) 12))\r\n',
    );
  });

  test('simple items', () => {
    assert.equal(
      wire({
        kind: 'FETCH',
        seq: 4,
        items: [
          { kind: 'UID', uid: 4827313 },
          { kind: 'MODSEQ', modseq: 624140003 },
          { kind: 'EMAILID', id: 'M6d99ac3275bb4e' },
          { kind: 'THREADID', id: null },
          { kind: 'SAVEDATE', date: new Date('2020-02-01T08:05:09Z') },
          { kind: 'SAVEDATE', date: null },
          { kind: 'PREVIEW', text: 'Hello "you"' },
          { kind: 'PREVIEW', text: null },
          { kind: 'BINARY.SIZE', part: [1, 2], size: 2012 },
        ],
      }),
      '* 4 FETCH (UID 4827313 MODSEQ (624140003) EMAILID (M6d99ac3275bb4e) THREADID NIL SAVEDATE " 1-Feb-2020 08:05:09 +0000" ' +
        'SAVEDATE NIL PREVIEW "Hello \\"you\\"" PREVIEW NIL BINARY.SIZE[1.2] 2012)\r\n',
    );
  });

  test('data items are literals; literal8 for binary; NIL for null', () => {
    assert.equal(
      wire({
        kind: 'FETCH',
        seq: 5,
        items: [
          { kind: 'data', name: 'BODY[HEADER]', data: Buffer.from('A: b\r\n\r\n') },
          { kind: 'data', name: 'BINARY[1]', data: Buffer.from([0, 1]), binary: true },
          { kind: 'data', name: 'BODY[3]<0>', data: null },
        ],
      }),
      '* 5 FETCH (BODY[HEADER] {8}\r\nA: b\r\n\r\n BINARY[1] ~{2}\r\n\0\x01 BODY[3]<0> NIL)\r\n',
    );
  });

  test('a streamed literal is placed in the parts after its header', () => {
    const stream: StreamedLiteral = { kind: 'stream', size: 1000, binary: false, open: () => { throw new Error('unused'); } };
    const parts = serializeResponse({ kind: 'FETCH', seq: 6, items: [{ kind: 'UID', uid: 9 }, { kind: 'data', name: 'BODY[]', data: stream }] }, REV1);
    assert.equal(parts.length, 3);
    assert.equal((parts[0] as Buffer).toString(), '* 6 FETCH (UID 9 BODY[] {1000}\r\n');
    assert.equal(parts[1], stream);
    assert.equal((parts[2] as Buffer).toString(), ')\r\n');
    assert.throws(() => wireToBuffer(parts));
  });

  test('strings that cannot be quoted become literals', () => {
    const env: Envelope = { ...rfcEnvelope, from: null, sender: null, replyTo: null, to: null, cc: null, subject: 'a\r\nb', date: 'x'.repeat(1001), messageId: 'Grüße', inReplyTo: null };
    const out = wire({ kind: 'FETCH', seq: 7, items: [{ kind: 'ENVELOPE', envelope: env }] });
    assert.equal(out, `* 7 FETCH (ENVELOPE ({1001}\r\n${'x'.repeat(1001)} {4}\r\na\r\nb NIL NIL NIL NIL NIL NIL NIL {7}\r\nGrüße))\r\n`);
    const out2 = wire({ kind: 'FETCH', seq: 7, items: [{ kind: 'ENVELOPE', envelope: { ...env, date: null, subject: null } }] }, REV2);
    assert.equal(out2, '* 7 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL "Grüße"))\r\n');
  });

  test('several responses: the bytes of each in order, joined; a large literal stays a part of its own', () => {
    const big = Buffer.alloc(100 * 1024, 0x61);
    const responses: Response[] = [
      { kind: 'FETCH', seq: 1, items: [{ kind: 'UID', uid: 4 }, { kind: 'FLAGS', flags: ['\\Seen', '$Work'] }] },
      { kind: 'FETCH', seq: 2, items: [{ kind: 'UID', uid: 5 }, { kind: 'data', name: 'BODY[]', data: Buffer.from('hi') }] },
      { kind: 'FETCH', seq: 3, items: [{ kind: 'data', name: 'BODY[]', data: big }] },
      { kind: 'EXISTS', count: 3 },
    ];
    const parts = serializeResponses(responses, REV1);
    const one = responses.map((r) => wireToBuffer(serializeResponse(r, REV1)));
    assert.deepEqual(wireToBuffer(parts), Buffer.concat(one));
    assert.equal(parts.length, 3, 'text before the large literal, the literal, text after');
    assert.equal(parts[1], big, 'not copied');
    assert.equal(
      (parts[0] as Buffer).toString(),
      '* 1 FETCH (UID 4 FLAGS (\\Seen $Work))\r\n* 2 FETCH (UID 5 BODY[] {2}\r\nhi)\r\n* 3 FETCH (BODY[] {102400}\r\n',
    );
  });
});
