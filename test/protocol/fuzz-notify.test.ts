// Property and fuzz tests of the NOTIFY parser (RFC 5465 8), fast-check with a fixed seed:
// - generated valid NOTIFY SET commands (any case, mailboxes as atom,
//   quoted or literal, one or a list) parse to exactly the AST they were built from;
// - generated groups that break one of the RFC's BAD rules are refused;
// - mutated commands never throw or hang, and whatever parses keeps the
//   RFC's rules (one selected filter, MessageNew with MessageExpunge,
//   FlagChange/AnnotationChange only with both, only message events and
//   fetch attributes with SELECTED/SELECTED-DELAYED).
import { commandMutation, mutate } from './command-mutations.js';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { NotifyEvent, NotifyEventGroup } from '../../src/protocol/imap/notify-ast.js';
import { MESSAGE_EVENTS } from '../../src/protocol/imap/notify-ast.js';
import type { ParseResult } from '../../src/protocol/imap/parser/index.js';
import { parseAll } from './parse-all.js';

const SEED = 5465;

function parseOne(line: string): ParseResult {
  const results = parseAll(Buffer.from(line, 'utf8'));
  assert.equal(results.length, 1, `one command in ${JSON.stringify(line)}`);
  return results[0]!;
}

/** Random letter case: keywords are case-insensitive. */
function anyCase(s: string, bits: number): string {
  return [...s].map((c, i) => ((bits >> i % 30) & 1 ? c.toLowerCase() : c.toUpperCase())).join('');
}

function mailboxWire(name: string, form: number): string {
  if (/^[A-Za-z0-9/._-]+$/.test(name) && form % 3 === 0) return name;
  if (form % 3 === 1) return `"${name}"`;
  return `{${Buffer.byteLength(name)}+}\r\n${name}`;
}

// ---- generators of valid groups ----

const mailboxName = fc.constantFrom('INBOX', 'Lists', 'Lists/Lemonade', 'a b', 'Other Users/bob', 'Shared/x', 'per%cent*');
const fetchAtts = fc.subarray(['UID', 'FLAGS', 'ENVELOPE', 'INTERNALDATE', 'RFC822.SIZE', 'BODYSTRUCTURE'], { minLength: 1 });

/** Message events as the RFC allows them: none, or MessageNew+MessageExpunge, maybe FlagChange/AnnotationChange. */
const messageEvents = fc.record({ on: fc.boolean(), flag: fc.boolean(), annotation: fc.boolean(), fetch: fc.option(fetchAtts) });
const otherEvents = fc.subarray(['MailboxName', 'SubscriptionChange', 'MailboxMetadataChange', 'ServerMetadataChange', 'FutureEvent']);

interface Built {
  wire: string;
  group: NotifyEventGroup;
}

function eventsOf(m: { on: boolean; flag: boolean; annotation: boolean; fetch: string[] | null }, withFetch: boolean): NotifyEvent[] {
  if (!m.on) return [];
  const fetch = withFetch && m.fetch ? m.fetch.map((kind) => ({ kind }) as NotifyEvent['fetch'][number]) : [];
  const out: NotifyEvent[] = [{ name: 'MessageNew', fetch }, { name: 'MessageExpunge', fetch: [] }];
  if (m.flag) out.push({ name: 'FlagChange', fetch: [] });
  if (m.annotation) out.push({ name: 'AnnotationChange', fetch: [] });
  return out;
}

function eventsWire(events: NotifyEvent[], bits: number): string {
  if (events.length === 0) return anyCase('NONE', bits);
  const words = events.map((e) => {
    const name = anyCase(e.name, bits);
    return e.fetch.length > 0 ? `${name} (${e.fetch.map((a) => a.kind).join(' ')})` : name;
  });
  return `(${words.join(' ')})`;
}

const selectedGroup: fc.Arbitrary<Built> = fc
  .tuple(fc.constantFrom('SELECTED', 'SELECTED-DELAYED'), messageEvents.filter((m) => m.on), fc.nat())
  .map(([kind, m, bits]) => {
    const events = eventsOf(m, true);
    return { wire: `(${anyCase(kind, bits)} ${eventsWire(events, bits >> 3)})`, group: { filter: { kind: kind as 'SELECTED' }, events } };
  });

const otherGroup: fc.Arbitrary<Built> = fc
  .tuple(
    fc.constantFrom('INBOXES', 'PERSONAL', 'SUBSCRIBED', 'SUBTREE', 'MAILBOXES'),
    fc.array(fc.tuple(mailboxName, fc.nat()), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
    messageEvents,
    otherEvents,
    fc.nat(),
  )
  .map(([kind, boxes, asList, m, others, bits]) => {
    const events = [...eventsOf(m, false), ...others.map((name) => ({ name: name === 'FutureEvent' ? 'FUTUREEVENT' : name, fetch: [] }))];
    const named = kind === 'SUBTREE' || kind === 'MAILBOXES';
    const list = asList || boxes.length > 1;
    const boxWire = list ? `(${boxes.map(([b, f]) => mailboxWire(b, f)).join(' ')})` : mailboxWire(boxes[0]![0], boxes[0]![1]);
    const filterWire = named ? `${anyCase(kind, bits)} ${boxWire}` : anyCase(kind, bits);
    const filter = named ? { kind: kind as 'SUBTREE', mailboxes: boxes.map(([b]) => b) } : { kind: kind as 'PERSONAL' };
    return { wire: `(${filterWire} ${eventsWire(events, bits >> 5)})`, group: { filter, events } };
  });

describe('NOTIFY parser fuzz', () => {
  test('generated NOTIFY SET commands parse to the groups they were built from', () => {
    fc.assert(
      fc.property(fc.option(selectedGroup), fc.array(otherGroup, { maxLength: 4 }), fc.nat(), fc.boolean(), fc.nat(), (sel, others, at, status, bits) => {
        const groups = [...others];
        if (sel) groups.splice(at % (groups.length + 1), 0, sel);
        fc.pre(groups.length > 0);
        const line = `n1 ${anyCase('notify', bits)} ${anyCase('set', bits >> 6)}${status ? ' ' + anyCase('status', bits >> 9) : ''} ${groups.map((g) => g.wire).join(' ')}\r\n`;
        assert.deepEqual(parseOne(line), { ok: true, tag: 'n1', command: { name: 'NOTIFY', set: { status, groups: groups.map((g) => g.group) } } });
      }),
      { seed: SEED, numRuns: 1500 },
    );
  });

  test('groups that break a BAD rule of RFC 5465 are refused', () => {
    const broken = fc.constantFrom(
      '(selected (MessageNew))',
      '(selected-delayed (MessageExpunge))',
      '(personal (FlagChange))',
      '(personal (MessageNew FlagChange))',
      '(inboxes (AnnotationChange MessageExpunge))',
      '(selected (MessageNew MessageExpunge MailboxName))',
      '(selected (SubscriptionChange))',
      '(personal (MessageNew (UID) MessageExpunge))',
      '(subtree INBOX (MessageNew (FLAGS) MessageExpunge))',
    );
    fc.assert(
      fc.property(broken, fc.array(otherGroup, { maxLength: 2 }), (bad, others) => {
        const line = `n2 NOTIFY SET ${[...others.map((g) => g.wire), bad].join(' ')}\r\n`;
        const r = parseOne(line);
        assert.equal(r.ok, false);
      }),
      { seed: SEED, numRuns: 500 },
    );
    assert.equal(parseOne('n3 NOTIFY SET (selected (MessageNew MessageExpunge)) (SELECTED-DELAYED NONE)\r\n').ok, false);
    assert.deepEqual(parseOne('n4 notify none\r\n'), { ok: true, tag: 'n4', command: { name: 'NOTIFY', set: null } });
  });

  const mutation = commandMutation(
    ['(', ')', ' ', '"', '{3+}\r\nabc', 'NONE', 'SELECTED', 'MessageNew', 'FlagChange', 'STATUS', '\r\n', 'BODY[', '*'],
    { maxDelete: 6 },
  );
  const seeds = [
    'm NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT)]) MessageExpunge)) (subtree Lists MessageNew)\r\n',
    'm NOTIFY SET (selected-delayed (MessageNew MessageExpunge FlagChange)) (personal (MailboxName SubscriptionChange))\r\n',
    'm NOTIFY SET (mailboxes (INBOX "a b" {3+}\r\nabc) (MessageNew MessageExpunge)) (subscribed NONE)\r\n',
    'm NOTIFY NONE\r\n',
  ];

  test('mutated commands never throw or hang; whatever parses keeps the RFC rules', () => {
    const message = new Set<string>(MESSAGE_EVENTS);
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 5 }), (seed, mutations) => {
        const bytes = mutate(Buffer.from(seed, 'latin1'), mutations);
        for (const r of parseAll(Buffer.concat([bytes, Buffer.from('\r\n')]))) {
          if (!r.ok) {
            assert.ok(r.text.length > 0);
            continue;
          }
          if (r.command.name !== 'NOTIFY' || r.command.set === null) continue;
          const groups = r.command.set.groups;
          assert.ok(groups.length > 0);
          const selected = groups.filter((g) => g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED');
          assert.ok(selected.length <= 1);
          for (const g of groups) {
            const names = new Set(g.events.map((e) => e.name));
            assert.equal(names.has('MessageNew'), names.has('MessageExpunge'));
            if (names.has('FlagChange') || names.has('AnnotationChange')) assert.ok(names.has('MessageNew'));
            const isSelected = selected.includes(g);
            for (const e of g.events) {
              if (isSelected) assert.ok(message.has(e.name) || e.name === e.name.toUpperCase(), e.name);
              else assert.equal(e.fetch.length, 0);
            }
          }
        }
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  test('SEARCH/SORT RETURN (UPDATE (fetch-att ...)) with or without SP (RFC 5465 7, 8)', () => {
    const returnsOf = (line: string): unknown => {
      const r = parseOne(line);
      assert.ok(r.ok, JSON.stringify(r));
      return r.ok && (r.command.name === 'SEARCH' || r.command.name === 'SORT') ? r.command.returns : null;
    };
    assert.deepEqual(returnsOf('s1 SEARCH RETURN (COUNT UPDATE (UID FLAGS)) ALL\r\n'), [{ kind: 'COUNT' }, { kind: 'UPDATE', fetch: [{ kind: 'UID' }, { kind: 'FLAGS' }] }]);
    assert.deepEqual(returnsOf('s2 SEARCH RETURN (UPDATE(UID) MIN) ALL\r\n'), [{ kind: 'UPDATE', fetch: [{ kind: 'UID' }] }, { kind: 'MIN' }]);
    assert.deepEqual(returnsOf('s3 SEARCH RETURN (UPDATE COUNT) ALL\r\n'), [{ kind: 'UPDATE' }, { kind: 'COUNT' }]);
    assert.deepEqual(returnsOf('s4 SORT RETURN (UPDATE (ENVELOPE)) (DATE) UTF-8 ALL\r\n'), [{ kind: 'UPDATE', fetch: [{ kind: 'ENVELOPE' }] }]);
    assert.equal(parseOne('s5 SEARCH RETURN (UPDATE ()) ALL\r\n').ok, false);
    assert.equal(parseOne('s6 SEARCH RETURN (UPDATE (NOSUCH)) ALL\r\n').ok, false);
  });
});
