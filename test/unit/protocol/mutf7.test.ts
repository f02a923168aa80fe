import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMutf7, encodeMutf7 } from '../../../src/protocol/imap/mutf7.js';

describe('modified UTF-7', () => {
  const pairs: Array<[string, string]> = [
    ['INBOX', 'INBOX'],
    ['Entwürfe', 'Entw&APw-rfe'],
    ['A&B', 'A&-B'],
    ['&', '&-'],
    ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'],
    ['Отправленные', '&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-'],
    ['😀', '&2D3eAA-'],
    ['a\tb', 'a&AAk-b'],
    ['', ''],
  ];
  for (const [text, wire] of pairs) {
    test(`encode '${text}'`, () => assert.equal(encodeMutf7(text), wire));
    test(`decode '${wire}'`, () => assert.equal(decodeMutf7(wire), text));
  }
  const invalid = [
    '&', // unterminated
    '&Jjo', // unterminated
    '&Jjo!-', // bad base64 char
    '&AGE-', // encodes printable ASCII "a"
    '&U,BTFw-&ZeVnLIqe-', // two encoded runs in a row
    '&2D0-', // lone high surrogate
    '&3gA-', // lone low surrogate
    '&APx-&APw-', // adjacent runs
    '&APz-', // non-zero padding bits
    '&AP-', // incomplete UTF-16 unit
    'Entwürfe', // raw 8-bit
    'a\tb', // control character
    '&U/BTFw-', // "/" instead of ","
  ];
  for (const wire of invalid) test(`reject '${wire}'`, () => assert.equal(decodeMutf7(wire), null));
});
