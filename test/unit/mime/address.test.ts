import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList } from '../../../src/mime/address.js';
import { buildEnvelope } from '../../../src/mime/envelope.js';
import { parseHeader } from '../../../src/mime/header.js';
import type { Address } from '../../../src/mime/types.js';

const a = (name: string | null, mailbox: string | null, host: string | null, adl: string | null = null): Address => ({
  name,
  adl,
  mailbox,
  host,
});

const cases: Array<[string, Address[]]> = [
  ['alice@example.org', [a(null, 'alice', 'example.org')]],
  ['Alice Example <alice@example.org>', [a('Alice Example', 'alice', 'example.org')]],
  ['"Doe, John" <john@example.com>, jane@example.com', [a('Doe, John', 'john', 'example.com'), a(null, 'jane', 'example.com')]],
  ['"Quote \\"Me\\"" <q@x.example>', [a('Quote "Me"', 'q', 'x.example')]],
  ['=?utf-8?q?J=C3=B6rg?= <j@x.example>', [a('=?utf-8?q?J=C3=B6rg?=', 'j', 'x.example')]],
  ['john@example.com (John Doe)', [a('John Doe', 'john', 'example.com')]],
  ['John Q. Public <jqp@example.com>', [a('John Q. Public', 'jqp', 'example.com')]],
  ['<bare@example.com>', [a(null, 'bare', 'example.com')]],
  ['"john doe"@example.com', [a(null, '"john doe"', 'example.com')]],
  ['user @ example . com', [a(null, 'user', 'example.com')]],
  ['user@[192.0.2.1]', [a(null, 'user', '[192.0.2.1]')]],
  ['<@relay.example,@two.example:user@example.com>', [a(null, 'user', 'example.com', '@relay.example,@two.example')]],
  ['undisclosed-recipients:;', [a(null, 'undisclosed-recipients', null), a(null, null, null)]],
  [
    'Team: a@x.example, "B" <b@y.example>; c@z.example',
    [a(null, 'Team', null), a(null, 'a', 'x.example'), a('B', 'b', 'y.example'), a(null, null, null), a(null, 'c', 'z.example')],
  ],
  ['Open group: a@x.example', [a(null, 'Open group', null), a(null, 'a', 'x.example'), a(null, null, null)]],
  ['localonly', [a(null, 'localonly', '')]],
  ['Name <broken', [a('Name', 'broken', '')]],
  [',, ,', []],
  ['', []],
];

test('parseAddressList: table', () => {
  for (const [input, expected] of cases) assert.deepEqual(parseAddressList(input), expected, input);
});

test('parseAddressList never throws on junk', () => {
  for (const junk of ['<<<>>>', '"unterminated', '(((', '@@@', ':;:;', '\x00\xff<a@b>', '[oops']) {
    assert.ok(Array.isArray(parseAddressList(junk)));
  }
});

test('envelope: sender and reply-to default to from; empty strings vs NIL per RFC 9051 7.5.2', () => {
  const fields = parseHeader(
    Buffer.from('From: a@x.example\r\nReply-To:\r\nSubject:  \r\nTo: b@y.example\r\nIn-Reply-To: <p@x>\r\n\r\n'),
  );
  const env = buildEnvelope(fields);
  assert.deepEqual(env.from, [a(null, 'a', 'x.example')]);
  assert.deepEqual(env.sender, env.from);
  assert.deepEqual(env.replyTo, env.from);
  assert.equal(env.subject, ''); // present but empty
  assert.equal(env.date, null); // absent
  assert.equal(env.inReplyTo, '<p@x>');
  assert.equal(env.cc, null);
  const withSender = buildEnvelope(parseHeader(Buffer.from('From: a@x.example\r\nSender: s@x.example\r\n\r\n')));
  assert.deepEqual(withSender.sender, [a(null, 's', 'x.example')]);
});
