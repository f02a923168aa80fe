import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBase64Strict,
  decodeSaslLoginField,
  decodeSaslPlain,
  SASL_LOGIN_PASSWORD_CHALLENGE,
  SASL_LOGIN_USERNAME_CHALLENGE,
} from '../../../src/auth/sasl.js';

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

describe('SASL PLAIN', () => {
  test('without authzid', () => {
    assert.deepEqual(decodeSaslPlain(b64('\0tim\0tanstaaftanstaaf')), { authzid: '', username: 'tim', password: 'tanstaaftanstaaf' });
  });
  test('authzid equal to the user is accepted', () => {
    assert.deepEqual(decodeSaslPlain(b64('tim\0tim\0pw')), { authzid: 'tim', username: 'tim', password: 'pw' });
  });
  test('authzid of another identity is refused', () => {
    assert.equal(decodeSaslPlain(b64('Ursel\0Kurt\0xipj3plmq')), null);
  });
  test('UTF-8 credentials pass unchanged', () => {
    assert.deepEqual(decodeSaslPlain(b64('\0jösé\0pä ss')), { authzid: '', username: 'jösé', password: 'pä ss' });
  });
  const malformed: Array<[string, string]> = [
    ['empty', ''],
    ['not base64', '!!!!'],
    ['bad padding', b64('\0a\0b').replace(/=*$/, '') + '='],
    ['two fields', b64('tim\0pw')],
    ['four fields', b64('\0tim\0pw\0x')],
    ['empty user', b64('\0\0pw')],
    ['empty password', b64('\0tim\0')],
    ['invalid UTF-8', b64(Buffer.from([0, 0x74, 0, 0xff, 0xfe]))],
    ['field over 255 octets', b64('\0tim\0' + 'x'.repeat(256))],
  ];
  for (const [name, input] of malformed) {
    test(`malformed: ${name}`, () => assert.equal(decodeSaslPlain(input), null));
  }
});

describe('SASL LOGIN', () => {
  test('challenges', () => {
    assert.equal(Buffer.from(SASL_LOGIN_USERNAME_CHALLENGE, 'base64').toString(), 'Username:');
    assert.equal(Buffer.from(SASL_LOGIN_PASSWORD_CHALLENGE, 'base64').toString(), 'Password:');
  });
  test('fields', () => {
    assert.equal(decodeSaslLoginField(b64('tim')), 'tim');
    assert.equal(decodeSaslLoginField(''), null);
    assert.equal(decodeSaslLoginField('*'), null);
    assert.equal(decodeSaslLoginField(b64('a\0b')), null);
  });
  test('strict base64', () => {
    assert.deepEqual(decodeBase64Strict('YQ=='), Buffer.from('a'));
    assert.equal(decodeBase64Strict('YQ='), null);
    assert.equal(decodeBase64Strict('Y Q=='), null);
    assert.equal(decodeBase64Strict('YQ==YQ=='), null);
  });
});
