// The command registry and the capability list.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Command } from '../../../src/protocol/imap/ast.js';
import { capabilities } from '../../../src/imap/capabilities.js';
import { holdsExpunges, isUidCommand, REGISTRY } from '../../../src/imap/registry.js';

describe('registry', () => {
  test('FETCH/STORE/SEARCH by MSN hold EXPUNGE; their UID forms do not', () => {
    const fetch: Extract<Command, { name: 'FETCH' }> = {
      name: 'FETCH',
      uid: false,
      set: { kind: 'set', ranges: [{ start: 1, end: 1 }] },
      attributes: [],
      modifiers: {},
      macro: null,
    };
    assert.equal(holdsExpunges(fetch), true);
    assert.equal(holdsExpunges({ ...fetch, uid: true }), false);
    assert.equal(isUidCommand({ ...fetch, uid: true }), true);
    assert.equal(holdsExpunges({ name: 'NOOP' }), false);
    assert.equal(holdsExpunges({ name: 'SEARCH', uid: false, charset: null, returns: null, key: { kind: 'ALL' } }), true);
  });

  test('states', () => {
    assert.deepEqual(REGISTRY.LOGIN.states, ['not-authenticated']);
    assert.ok(REGISTRY.FETCH.states.includes('selected') && !REGISTRY.FETCH.states.includes('authenticated'));
    assert.ok(REGISTRY.CAPABILITY.states.includes('not-authenticated'));
    assert.ok(REGISTRY.NOOP.polls && REGISTRY.IDLE.polls);
  });
});

describe('capabilities', () => {
  const base = { authenticated: false, secure: false, tlsAvailable: false, allowPlaintextAuth: true };
  test('STARTTLS only on plain connections with TLS configured', () => {
    assert.ok(capabilities({ ...base, tlsAvailable: true }).includes('STARTTLS'));
    assert.ok(!capabilities({ ...base, tlsAvailable: true, secure: true }).includes('STARTTLS'));
    assert.ok(!capabilities(base).includes('STARTTLS'));
  });
  test('LOGINDISABLED and AUTH= follow the plaintext rule', () => {
    const off = capabilities({ ...base, allowPlaintextAuth: false });
    assert.ok(off.includes('LOGINDISABLED') && !off.includes('AUTH=PLAIN'));
    const tlsOn = capabilities({ ...base, allowPlaintextAuth: false, secure: true });
    assert.ok(!tlsOn.includes('LOGINDISABLED') && tlsOn.includes('AUTH=PLAIN'));
  });
  test('after authentication: no STARTTLS, LOGINDISABLED or AUTH=', () => {
    const caps = capabilities({ ...base, authenticated: true, tlsAvailable: true });
    assert.ok(caps.every((c) => c !== 'STARTTLS' && c !== 'LOGINDISABLED' && !c.startsWith('AUTH=')));
    assert.equal(caps[0], 'IMAP4rev1');
    assert.ok(caps.includes('IMAP4rev2'));
  });
});
