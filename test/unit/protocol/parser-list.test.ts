import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cmd, err } from './helpers.js';

const list = (extra: Record<string, unknown>) => ({
  name: 'LIST',
  selection: [],
  reference: '',
  patterns: ['*'],
  returns: [],
  extended: false,
  ...extra,
});

describe('LIST / LSUB parser', () => {
  const cases: Array<[string, unknown]> = [
    ['a LIST "" *', list({})],
    ['a list "" %', list({ patterns: ['%'] })],
    ['a LIST ~/Mail/ "foo/*"', list({ reference: '~/Mail/', patterns: ['foo/*'] })],
    ['a LIST "" "Entwürfe/%"', list({ patterns: ['Entwürfe/%'] })],
    ['a LIST "" {5}\r\nINBOX', list({ patterns: ['INBOX'] })],
    ['a LIST "" Foo]Bar', list({ patterns: ['Foo]Bar'] })],
    ['a LIST (SUBSCRIBED) "" *', list({ selection: ['SUBSCRIBED'], extended: true })],
    ['a LIST () "" *', list({ extended: true })],
    [
      'a LIST (subscribed remote recursivematch) "" %',
      list({ selection: ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH'], patterns: ['%'], extended: true }),
    ],
    ['a LIST (SPECIAL-USE) "" *', list({ selection: ['SPECIAL-USE'], extended: true })],
    ['a LIST "" (INBOX "Sent" %)', list({ patterns: ['INBOX', 'Sent', '%'], extended: true })],
    [
      'a LIST "" * RETURN (CHILDREN SUBSCRIBED SPECIAL-USE STATUS (MESSAGES UNSEEN))',
      list({
        returns: [{ kind: 'CHILDREN' }, { kind: 'SUBSCRIBED' }, { kind: 'SPECIAL-USE' }, { kind: 'STATUS', items: ['MESSAGES', 'UNSEEN'] }],
        extended: true,
      }),
    ],
    ['a LIST "" * RETURN ()', list({ extended: true })],
    ['a LSUB "#news." "comp.mail.*"', { name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' }],
  ];
  for (const [wire, expected] of cases) test(wire.replace(/\r\n/g, '\\r\\n'), () => assert.deepEqual(cmd(wire), expected));

  const errors: Array<[string, string]> = [
    ['a LIST (RECURSIVEMATCH) "" *', 'RECURSIVEMATCH requires another selection option such as SUBSCRIBED'],
    ['a LIST (FOO) "" *', 'Unknown LIST selection option FOO'],
    ['a LIST "" * RETURN (FOO)', 'Unknown LIST return option FOO'],
    ['a LIST "" * BACK (CHILDREN)', "Expected RETURN, found 'BACK'"],
    ['a LIST ""', 'Expected SP after reference name'],
    ['a LIST "" ()', 'Expected at least one item in the pattern list'],
    ['a LIST "" * RETURN (STATUS (FOO))', 'Unknown status item FOO'],
  ];
  for (const [wire, text] of errors) test(`error: ${wire}`, () => assert.equal(err(wire), text));
});
