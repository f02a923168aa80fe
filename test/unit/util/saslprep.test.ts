// SASLprep (RFC 4013): the examples of its section 3, each step of the
// profile (mapping, NFKC, prohibited tables, bidi, unassigned) and the ACL
// identifier preparation of RFC 4314 3 built on it.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { saslprep, SaslprepError } from '../../../src/util/saslprep.js';
import { prepareAclIdentifier } from '../../../src/mail/acl.js';

const fails = (input: string, options?: { allowUnassigned?: boolean }): void => {
  assert.throws(() => saslprep(input, options), SaslprepError, JSON.stringify(input));
};

describe('saslprep (RFC 4013)', () => {
  test('the examples of RFC 4013 section 3', () => {
    assert.equal(saslprep('I\u00adX'), 'IX'); // SOFT HYPHEN mapped to nothing
    assert.equal(saslprep('user'), 'user');
    assert.equal(saslprep('USER'), 'USER'); // case is kept
    assert.equal(saslprep('\u00aa'), 'a'); // NFKC
    assert.equal(saslprep('\u2168'), 'IX'); // NFKC
    fails('\u0007'); // prohibited
    fails('\u0627\u0031'); // bidi: RandALCat must also end the string
  });

  test('mapping: non-ASCII spaces to SPACE, B.1 to nothing', () => {
    assert.equal(saslprep('a\u00a0b\u3000c\u2002d'), 'a b c d');
    assert.equal(saslprep('a\u200db\ufeffc\ufe0fd\u034fe'), 'abcde');
    assert.equal(saslprep(''), '');
    assert.equal(saslprep('\u00ad'), '');
  });

  test('normalization: NFKC, composed forms', () => {
    assert.equal(saslprep('\uff41\uff42'), 'ab');
    assert.equal(saslprep('e\u0301'), '\u00e9');
    assert.equal(saslprep('\ufb01'), 'fi');
  });

  test('prohibited output: controls, private use, non-characters, surrogates, C.6-C.9', () => {
    for (const ch of ['\u0000', '\u001f', '\u007f', '\u0085', '\u2028', '\u206a', '\ue000', '\u{f0000}', '\ufdd0', '\uffff', '\u{1fffe}', '\ud800', '\ufffd', '\u2ff0', '\u200e', '\u202e', '\u{e0001}', '\u{e0041}']) {
      fails(`a${ch}b`);
    }
  });

  test('bidirectional text (RFC 3454 6)', () => {
    assert.equal(saslprep('\u0627\u0628'), '\u0627\u0628');
    assert.equal(saslprep('\u05d0 1 \u05d1'), '\u05d0 1 \u05d1'); // neutrals and numbers between RandALCat
    fails('\u0627a\u0628'); // RandALCat and LCat mixed
    fails('1\u0627'); // does not start with RandALCat
    assert.equal(saslprep('a1b'), 'a1b');
  });

  test('unassigned code points: refused for stored strings, allowed for queries', () => {
    fails('a\u0378');
    assert.equal(saslprep('a\u0378', { allowUnassigned: true }), 'a\u0378');
  });
});

describe('prepareAclIdentifier (RFC 4314 3)', () => {
  test('prepares the name of a negative right after its "-"; null when preparation fails or leaves nothing', () => {
    assert.equal(prepareAclIdentifier('b\u00adob'), 'bob');
    assert.equal(prepareAclIdentifier('-\uff42ob'), '-bob');
    assert.equal(prepareAclIdentifier('anyone'), 'anyone');
    assert.equal(prepareAclIdentifier('bob\ue000'), null);
    assert.equal(prepareAclIdentifier('\u00ad'), null);
    assert.equal(prepareAclIdentifier('-\u00ad'), null);
    assert.equal(prepareAclIdentifier(''), null);
  });
});
