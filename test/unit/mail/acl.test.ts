// RFC 4314 rights: parsing (c/d virtual rights, BAD cases), SETACL
// modifications, display with c and d, effective rights with anyone,
// authenticated and negative entries.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALL_RIGHTS, AclSyntaxError, displayRights, effectiveRights, modifyRights, parseRights, validIdentifier } from '../../../src/mail/acl.js';

describe('ACL rights', () => {
  test('parse: canonical order, c = k, d = xte, unknown and upper-case refused', () => {
    assert.equal(parseRights('rl'), 'lr');
    assert.equal(parseRights('lrswida'), 'lrswixtea');
    assert.equal(parseRights('c'), 'k');
    assert.equal(parseRights(''), '');
    assert.throws(() => parseRights('lrQ'), (e: Error) => e instanceof AclSyntaxError && /Uppercase/.test(e.message));
    assert.throws(() => parseRights('lrq'), (e: Error) => e instanceof AclSyntaxError && /q right/.test(e.message));
    assert.throws(() => parseRights('l1'), AclSyntaxError);
  });

  test('SETACL modifications: replace, +add, -remove (RFC 4314 3.1 example)', () => {
    assert.equal(modifyRights('lrswi', '+cda'), 'lrswikxtea');
    assert.equal(modifyRights('lrswikxtea', '-kxtea'), 'lrswi');
    assert.equal(modifyRights('lrswi', 'lr'), 'lr');
    assert.equal(modifyRights('lr', '-'), 'lr');
    assert.equal(modifyRights('lr', ''), '');
  });

  test('display adds c and d when a member is there', () => {
    assert.equal(displayRights(ALL_RIGHTS), 'lrswipkxteacd');
    assert.equal(displayRights('lrs'), 'lrs');
    assert.equal(displayRights('lrt'), 'lrtd');
    assert.equal(displayRights('lrk'), 'lrkc');
  });

  test('effective rights: owner all; union of user, anyone, authenticated; negatives subtract', () => {
    const acl = [
      { identifier: 'anyone', rights: 'l' },
      { identifier: 'authenticated', rights: 'r' },
      { identifier: 'bob', rights: 'sw' },
      { identifier: '-bob', rights: 'w' },
      { identifier: 'carol', rights: 'a' },
    ];
    assert.equal(effectiveRights(acl, 'bob', false), 'lrs');
    assert.equal(effectiveRights(acl, 'dave', false), 'lr');
    assert.equal(effectiveRights(acl, 'bob', true), ALL_RIGHTS);
    assert.equal(effectiveRights([], 'bob', false), '');
  });

  // Clients must ignore the virtual c and d they are shown (RFC 4314 2.1.1): without them a shown set reads back the same.
  test('property: display(x) without c and d parses to x, and modifications stay canonical', () => {
    const rights = fc.subarray([...ALL_RIGHTS]).map((a) => a.join(''));
    fc.assert(
      fc.property(rights, rights, fc.constantFrom('', '+', '-'), (current, given, mode) => {
        const canon = parseRights(current);
        assert.equal(parseRights(displayRights(canon).replace(/[cd]/g, '')), canon);
        const out = modifyRights(canon, mode + given);
        assert.equal(parseRights(out), out);
        for (const r of out) assert.ok(ALL_RIGHTS.includes(r));
      }),
      { seed: 4314, numRuns: 300 },
    );
  });

  test('identifiers: non-empty, no spaces or controls; "-" prefix allowed once', () => {
    assert.ok(validIdentifier('bob'));
    assert.ok(validIdentifier('-bob'));
    assert.ok(validIdentifier('alice@example.org'));
    assert.ok(!validIdentifier(''));
    assert.ok(!validIdentifier('-'));
    assert.ok(!validIdentifier('a b'));
    assert.ok(!validIdentifier('a\u0001'));
  });
});
