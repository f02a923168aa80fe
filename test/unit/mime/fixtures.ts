// Real-world-like messages shared by the MIME unit tests and the fuzz test.

/** Joins lines with CRLF (the wire form). */
export const crlf = (...lines: string[]): Buffer => Buffer.from(lines.join('\r\n'), 'utf8');
/** Joins lines with bare LF (as found in mbox files and some MTAs). */
export const lf = (...lines: string[]): Buffer => Buffer.from(lines.join('\n'), 'utf8');

export const simpleText = crlf(
  'Return-Path: <alice@example.org>',
  'Date: Tue, 2 Jan 2024 09:30:15 -0500',
  'From: Alice Example <alice@example.org>',
  'To: Bob <bob@example.com>, carol@example.net',
  'Subject: Lunch',
  ' tomorrow?',
  'Message-ID: <1234@example.org>',
  '',
  'Hi Bob,',
  '',
  'Lunch tomorrow at noon?',
  '',
);

export const alternative = crlf(
  'From: news@shop.example',
  'To: you@example.com',
  'Subject: Sale',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="=_alt_42"',
  '',
  'This is a multi-part message in MIME format.',
  '--=_alt_42',
  'Content-Type: text/plain; charset="iso-8859-1"',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Caf=E9 sale =',
  'today',
  '--=_alt_42',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<html><head><style>p{}</style></head><body><p>Caf&eacute; &amp; <b>sale</b></p></body></html>',
  '--=_alt_42--',
  '',
);

export const mixedAttachment = crlf(
  'From: alice@example.org',
  'To: bob@example.com',
  'Subject: Report',
  'Content-Type: multipart/mixed;',
  '\tboundary="outer"',
  '',
  '--outer',
  'Content-Type: text/plain',
  '',
  'See attached.',
  '',
  '--outer',
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Transfer-Encoding: base64',
  "Content-Disposition: attachment; filename*0*=utf-8''R%C3%A9sum;",
  ' filename*1=".pdf"; size=12',
  'Content-ID: <part2@example.org>',
  'Content-Description: The report',
  'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
  'Content-Language: en, fr',
  'Content-Location: http://example.org/report.pdf',
  '',
  'JVBERi0xLjQK',
  'JSVFT0YK',
  '--outer--',
  '',
);

export const nestedMessage = crlf(
  'From: fwd@example.org',
  'Subject: Fwd: Hello',
  'Content-Type: multipart/mixed; boundary=b1',
  '',
  '--b1',
  '',
  'Forwarded below.',
  '--b1',
  'Content-Type: message/rfc822',
  '',
  'From: "Orig, Sender" <orig@example.com>',
  'To: group: a@x.example, b@y.example;, c@z.example',
  'Subject: Hello',
  'Date: 5 Mar 24 08:00 GMT',
  'Content-Type: multipart/alternative; boundary=b2',
  '',
  '--b2',
  'Content-Type: text/plain',
  '',
  'inner plain',
  '--b2',
  'Content-Type: text/html',
  '',
  '<p>inner html</p>',
  '--b2--',
  '',
  '--b1--',
  '',
);

export const digest = crlf(
  'From: list@example.org',
  'Subject: Digest',
  'Content-Type: multipart/digest; boundary="d"',
  '',
  '--d',
  '',
  'From: a@example.org',
  'Subject: one',
  '',
  'first',
  '--d',
  'Content-Type: text/plain',
  '',
  'not a message',
  '--d--',
);

export const bareLf = lf(
  'From: a@example.org',
  'Subject: bare',
  'Content-Type: multipart/mixed; boundary="x"',
  '',
  '--x',
  'Content-Type: text/plain',
  '',
  'line one',
  'line two',
  '--x--',
  '',
);

export const missingClose = crlf(
  'Content-Type: multipart/mixed; boundary=zz',
  '',
  '--zz',
  '',
  'first',
  '--zz',
  '',
  'second, never closed',
  '',
);

export const badEncodings = crlf(
  'Content-Type: multipart/mixed; boundary=q',
  '',
  '--q',
  'Content-Transfer-Encoding: base64',
  '',
  'aGVs!!bG8g*d29y\x01bGQ=',
  '--q',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'a=ZZb=3',
  'c=4',
  '--q--',
);

export const encodedWords = crlf(
  'From: =?iso-8859-1?Q?Andr=E9?= <andre@example.fr>',
  'To: =?koi8-r?B?8NLJ18XU?= <privet@example.ru>',
  'Subject: =?ISO-2022-JP?B?GyRCJEYkOSRIGyhC?= =?utf-8?q?_caf=C3=A9?=',
  'X-Sjis: =?shift_jis?B?g2WDWINn?=',
  'X-Gb: =?gb2312?B?1tDOxA==?=',
  'X-Unknown: =?x-klingon?q?Qapla=E9?=',
  '',
  'body',
);

/** Every fixture, for property and fuzz tests. */
export const allFixtures: Buffer[] = [
  simpleText,
  alternative,
  mixedAttachment,
  nestedMessage,
  digest,
  bareLf,
  missingClose,
  badEncodings,
  encodedWords,
];
