import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { deliveryFailure } from '../../../src/lmtp/errors.js';
import { recipientCandidates, resolveRecipient } from '../../../src/lmtp/recipient.js';
import { MailError } from '../../../src/mail/errors.js';
import type { Directory } from '../../../src/mail/ports.js';
import type { Account } from '../../../src/mail/types.js';

describe('recipient candidates', () => {
  const table: Array<[string, string, Array<[string, string | null]>]> = [
    ['alice@example.org', '+', [['alice@example.org', null], ['alice', null]]],
    ['alice+Lists@example.org', '+', [['alice+Lists@example.org', null], ['alice@example.org', 'Lists'], ['alice+Lists', null], ['alice', 'Lists']]],
    ['alice+@example.org', '+', [['alice+@example.org', null], ['alice@example.org', null], ['alice+', null], ['alice', null]]],
    ['alice-x@example.org', '-', [['alice-x@example.org', null], ['alice@example.org', 'x'], ['alice-x', null], ['alice', 'x']]],
    ['alice+x@example.org', '', [['alice+x@example.org', null], ['alice+x', null]]],
    ['+x@example.org', '+', [['+x@example.org', null], ['+x', null]]],
    ['postmaster', '+', [['postmaster', null]]],
  ];
  for (const [address, delimiter, expected] of table) {
    test(`${address} (delimiter ${JSON.stringify(delimiter)})`, () => {
      assert.deepEqual(
        recipientCandidates(address, delimiter).candidates.map((c) => [c.name, c.folder]),
        expected,
      );
    });
  }
});

describe('resolveRecipient', () => {
  const account = (name: string, id: number): Account => ({ id, name, passwordHash: '', disabled: false, createdAt: new Date(0), repository: 'default' });
  const accounts = [account('alice', 1), account('bob@example.org', 2)];
  const directory = {
    findAccount: async (name: string) => accounts.find((a) => a.name === name) ?? null,
  } as unknown as Directory;

  test('local part, with folder', async () => {
    const r = await resolveRecipient(directory, 'alice+Lists@example.org', '+');
    assert.equal(r?.account.id, 1);
    assert.equal(r?.folder, 'Lists');
  });
  test('full-address account name wins', async () => {
    const r = await resolveRecipient(directory, 'bob+x@example.org', '+');
    assert.equal(r?.account.id, 2);
    assert.equal(r?.folder, 'x');
  });
  test('unknown', async () => {
    assert.equal(await resolveRecipient(directory, 'carol@example.org', '+'), null);
  });
});

describe('delivery failure replies', () => {
  const table: Array<[unknown, number]> = [
    [new MailError('NOT_FOUND', 'x'), 550],
    [new MailError('OVER_QUOTA', 'x'), 552],
    [new MailError('TOO_BIG', 'x'), 552],
    [new MailError('LIMIT', 'x'), 452],
    [new MailError('UNAVAILABLE', 'x'), 451],
    [new MailError('CORRUPT', 'x'), 451],
    [new Error('surprise'), 451],
  ];
  for (const [err, code] of table) {
    test(`${err instanceof MailError ? err.code : 'Error'} -> ${code}`, () => {
      const reply = deliveryFailure('a@b', err);
      assert.equal(reply.responseCode, code);
      assert.ok(reply.message.startsWith('<a@b> '));
    });
  }
});
