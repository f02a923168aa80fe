import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, parseHash, verifyPassword } from '../../../src/auth/password.js';

// A low cost keeps the tests fast; the format and code path are the same.
const FAST = { ln: 4, r: 8, p: 1 };

describe('password hashing', () => {
  test('produces a PHC-style scrypt string that verifies', async () => {
    const hash = await hashPassword('correct horse', FAST);
    assert.match(hash, /^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsf', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  test('salts: the same password hashes differently', async () => {
    const a = await hashPassword('pw', FAST);
    const b = await hashPassword('pw', FAST);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('pw', a), true);
    assert.equal(await verifyPassword('pw', b), true);
  });

  test('UTF-8 passwords', async () => {
    const hash = await hashPassword('pässwörd-🔑', FAST);
    assert.equal(await verifyPassword('pässwörd-🔑', hash), true);
    assert.equal(await verifyPassword('passwörd-🔑', hash), false);
  });

  test('default cost is ln=17,r=8,p=1', async () => {
    const hash = await hashPassword('x');
    assert.ok(hash.startsWith('$scrypt$ln=17,r=8,p=1$'));
    assert.equal(await verifyPassword('x', hash), true);
  });

  test('malformed hashes and unknown schemes never match', async () => {
    const good = await hashPassword('pw', FAST);
    for (const bad of [
      '',
      'plain',
      '$scrypt$ln=4,r=8,p=1$salt',
      good.replace('$scrypt$', '$argon2id$'),
      good.replace('ln=4', 'ln=99'),
      good.replace('ln=4', 'ln=x'),
      good + '$extra',
    ]) {
      assert.equal(await verifyPassword('pw', bad), false, bad);
    }
  });

  test('parseHash splits the fields', () => {
    const parsed = parseHash('$scrypt$ln=4,r=8,p=1$AAAA$AQID');
    assert.ok(parsed);
    assert.equal(parsed.scheme, 'scrypt');
    assert.deepEqual([...parsed.params], [['ln', '4'], ['r', '8'], ['p', '1']]);
    assert.deepEqual([...parsed.hash], [1, 2, 3]);
  });
});
