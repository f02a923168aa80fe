// NOTIFY SET [STATUS] event-groups / NOTIFY NONE (RFC 5465 8). The rules the
// RFC makes BAD are checked here too: only message events with SELECTED /
// SELECTED-DELAYED and only one of them, MessageNew and MessageExpunge
// together, FlagChange/AnnotationChange only with both, fetch-att lists only
// for the selected mailbox. Unknown events parse (NO [BADEVENT] is the handler's).

import type { NotifyEvent, NotifyEventGroup, NotifyFilter } from '../notify-ast.js';
import { MAILBOX_EVENTS, MESSAGE_EVENTS, USER_EVENTS } from '../notify-ast.js';
import { attribute } from './fetch.js';
import type { Reader } from './reader.js';
import type { CommandParser } from './types.js';

const KNOWN = new Map<string, string>([...MESSAGE_EVENTS, ...MAILBOX_EVENTS, ...USER_EVENTS].map((n) => [n.toUpperCase(), n]));
const MESSAGE = new Set<string>(MESSAGE_EVENTS);

function mailboxes(r: Reader): string[] {
  if (r.peek() === 0x28) return r.list(() => r.mailbox(), 'the mailbox list');
  return [r.mailbox()];
}

function filter(r: Reader): NotifyFilter {
  const word = r.keyword('mailbox filter');
  switch (word) {
    case 'SELECTED':
    case 'SELECTED-DELAYED':
    case 'INBOXES':
    case 'PERSONAL':
    case 'SUBSCRIBED':
      return { kind: word };
    case 'SUBTREE':
    case 'MAILBOXES':
      r.sp(`after ${word}`);
      return { kind: word, mailboxes: mailboxes(r) };
    default:
      return r.fail(`Unknown mailbox filter ${word}`);
  }
}

function event(r: Reader): NotifyEvent {
  const word = r.keyword('event');
  const name = KNOWN.get(word) ?? word;
  let fetch: NotifyEvent['fetch'] = [];
  if (name === 'MessageNew' && r.peek() === 0x20) {
    const m = r.mark();
    r.sp('after MessageNew');
    if (r.peek() === 0x28) fetch = r.list(() => attribute(r), 'the MessageNew fetch attributes');
    else r.restore(m);
  }
  return { name, fetch };
}

function eventGroup(r: Reader): NotifyEventGroup {
  r.expect(0x28, "'(' to start an event group");
  const f = filter(r);
  r.sp('after the mailbox filter');
  let events: NotifyEvent[] = [];
  if (r.peek() === 0x28) events = r.list(() => event(r), 'the event list');
  else if (r.keyword('event list or NONE') !== 'NONE') r.fail('Expected an event list or NONE');
  r.expect(0x29, "')' to end the event group");
  checkGroup(r, f, events);
  return { filter: f, events };
}

function checkGroup(r: Reader, f: NotifyFilter, events: NotifyEvent[]): void {
  const names = new Set(events.map((e) => e.name));
  const selected = f.kind === 'SELECTED' || f.kind === 'SELECTED-DELAYED';
  for (const e of events) {
    if (selected && !MESSAGE.has(e.name) && KNOWN.has(e.name.toUpperCase())) r.fail(`${e.name} is not a message event (only those are allowed with ${f.kind})`);
    if (!selected && e.fetch.length > 0) r.fail('MessageNew fetch attributes are only allowed with SELECTED or SELECTED-DELAYED');
  }
  if (names.has('MessageNew') !== names.has('MessageExpunge')) r.fail('MessageNew and MessageExpunge must be given together');
  if ((names.has('FlagChange') || names.has('AnnotationChange')) && !names.has('MessageNew')) {
    r.fail('FlagChange and AnnotationChange need MessageNew and MessageExpunge');
  }
}

export const notifyParsers: Record<string, CommandParser> = {
  NOTIFY: (r) => {
    r.sp('after NOTIFY');
    const word = r.keyword('SET or NONE');
    if (word === 'NONE') return { name: 'NOTIFY', set: null };
    if (word !== 'SET') r.fail(`Expected SET or NONE, found ${word}`);
    r.sp('after NOTIFY SET');
    let status = false;
    if (r.peek() !== 0x28) {
      if (r.keyword('STATUS or an event group') !== 'STATUS') r.fail('Expected STATUS or an event group');
      status = true;
      r.sp('after STATUS');
    }
    const groups = [eventGroup(r)];
    while (r.peek() === 0x20) {
      r.sp('between event groups');
      groups.push(eventGroup(r));
    }
    const selected = groups.filter((g) => g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED');
    if (selected.length > 1) r.fail('Only one SELECTED or SELECTED-DELAYED filter is allowed');
    return { name: 'NOTIFY', set: { status, groups } };
  },
};
