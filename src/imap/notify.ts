// NOTIFY (RFC 5465) state of one session: the filters of the last NOTIFY SET,
// which mailboxes they cover, what was last reported for each (STATUS
// counts, the mailbox names and subscriptions), and the computation of the
// unsolicited STATUS and LIST responses that bring the client up to date.
// Events stay hints: a change marks a mailbox (or the mailbox list) dirty,
// and flush() reads the store and sends only the differences.
//
// Message events of the selected mailbox are the session's usual updates
// (EXISTS/EXPUNGE/FETCH); with a SELECTED filter they are also pushed between
// commands, with SELECTED-DELAYED everything but expunges is (6.1.2).

import { isReservedPersonalName } from './namespaces.js';
import { identifiersOf } from '../mail/acl.js';
import { mailboxEventKey, mailboxListEventKey, rightsEventKey } from '../mail/events.js';
import type { MetadataTarget } from '../mail/metadata.js';
import type { EventKey, MailStore } from '../mail/ports.js';
import type { MailboxCounts, MailEvent } from '../mail/types.js';
import type { FetchAttribute } from '../protocol/imap/ast.js';
import type { NotifyEventGroup, NotifyFilter } from '../protocol/imap/notify-ast.js';
import type { Response, StatusValue } from '../protocol/imap/response.js';
import { compressUids } from '../protocol/imap/sequence.js';
import { fetchHandler } from './handlers/fetch.js';
import { mailboxAttributes } from './list-tree.js';
import type { MailboxRef, VisibleMailbox } from './mailbox-access.js';
import { normalizeInbox } from './mailbox-names.js';
import type { Session } from './session.js';
import type { MailboxView, ViewUpdate } from './view.js';

/** The events Petrel reports (BADEVENT lists them, RFC 5465 3.1). */
export const SUPPORTED_EVENTS = ['MessageNew', 'MessageExpunge', 'FlagChange', 'MailboxName', 'SubscriptionChange', 'MailboxMetadataChange', 'ServerMetadataChange'] as const;
const SUPPORTED = new Set<string>(SUPPORTED_EVENTS);

/** Commands of this session whose own mailbox-list or message changes are not notified back (RFC 5465 5). */
const OWN_CHANGE_COMMANDS = new Set(['CREATE', 'DELETE', 'RENAME', 'SUBSCRIBE', 'UNSUBSCRIBE', 'SETACL', 'DELETEACL', 'APPEND', 'COPY', 'MOVE', 'SETMETADATA']);

/** Commands that add messages to the selected mailbox themselves. */
const OWN_NEW_MESSAGES = new Set(['APPEND', 'COPY', 'MOVE', 'REPLACE']);

/** Every entry of a mailbox (or the server), as name -> value (hex), for diffs. */
type MetadataSnapshot = Map<string, string>;
const ALL_ENTRIES = ['/private', '/shared'];

interface OtherGroup {
  filter: NotifyFilter;
  /** Decoded names for SUBTREE/MAILBOXES. */
  names: string[];
  events: Set<string>;
}

interface Watched {
  ref: MailboxRef & { mailbox: NonNullable<MailboxRef['mailbox']> };
  events: Set<string>;
  counts: MailboxCounts;
}

/** One mailbox name as last reported: for MailboxName and SubscriptionChange diffs. */
interface NameEntry {
  id: string;
  display: string;
}

/** Unsupported events named in a NOTIFY SET, or [] (the handler answers NO [BADEVENT]). */
export function unsupportedEvents(groups: readonly NotifyEventGroup[]): string[] {
  return groups.flatMap((g) => g.events.map((e) => e.name)).filter((n) => !SUPPORTED.has(n));
}

const refKey = (ref: Pick<MailboxRef, 'repository'> & { mailbox: { id: number } }): string => `${ref.repository.name}:${ref.mailbox.id}`;

export class NotifyState {
  /** SELECTED / SELECTED-DELAYED: the message events wanted for the selected mailbox. */
  readonly selected: { delayed: boolean; events: Set<string>; fetch: FetchAttribute[] } | null;
  private readonly groups: OtherGroup[];
  /** Non-selected mailboxes with message events, by repository:id. */
  private watched = new Map<string, Watched>();
  private names = new Map<string, NameEntry>();
  private subscriptions = new Set<string>();
  /** MailboxMetadataChange: the last entries of each covered mailbox, by repository:id. */
  private mailboxMetadata = new Map<string, MetadataSnapshot>();
  /** ServerMetadataChange: the server's entries as this user sees them (null: not asked for). */
  private serverMetadata: MetadataSnapshot | null = null;
  /** Mailbox lists (owners) whose changes may change what is covered. */
  private listKeys = new Set<EventKey>();
  private readonly dirty = new Set<string>();
  private listDirty = false;
  /** Highest UID of the selected mailbox already announced (MessageNew fetch attributes). */
  private knownUid = 0;
  private knownMailbox = '';
  /** A between-commands push in progress (commands wait for it). */
  private pushing: Promise<void> = Promise.resolve();
  private pushQueued = false;

  constructor(
    private readonly session: Session,
    groups: readonly NotifyEventGroup[],
  ) {
    let selected: NotifyState['selected'] = null;
    const others: OtherGroup[] = [];
    for (const g of groups) {
      const events = new Set(g.events.map((e) => e.name));
      if (g.filter.kind === 'SELECTED' || g.filter.kind === 'SELECTED-DELAYED') {
        const fetch = g.events.find((e) => e.name === 'MessageNew')?.fetch ?? [];
        selected = events.size === 0 ? null : { delayed: g.filter.kind === 'SELECTED-DELAYED', events, fetch };
      } else {
        const names = 'mailboxes' in g.filter ? g.filter.mailboxes.map((m) => normalizeInbox(session.fromWire(m))) : [];
        others.push({ filter: g.filter, names, events });
      }
    }
    this.selected = selected;
    this.groups = others;
  }

  /** Reads what the filters cover now; returns the STATUS responses NOTIFY SET STATUS sends, and the \NoAccess LISTs. */
  async start(withStatus: boolean): Promise<Response[]> {
    const out: Response[] = [];
    await this.evaluate(out, true);
    if (withStatus) {
      for (const w of this.watched.values()) {
        if (this.isSelected(w)) continue;
        out.push(this.statusResponse(w, this.initialItems(w.events), w.counts));
      }
    }
    this.noteSelected();
    return out;
  }

  /**
   * Event keys beyond the session's own: the watched mailboxes, the mailbox
   * lists that may change coverage, and ACL changes for this user, "anyone"
   * or "authenticated" (a mailbox shared by an owner not seen before).
   */
  eventKeys(): EventKey[] {
    const keys: EventKey[] = [];
    const account = this.session.account;
    if (!account) return keys;
    if (this.groups.length > 0) {
      keys.push(mailboxListEventKey(this.session.home.repository.name, account.id));
      keys.push(...identifiersOf(account.name).map(rightsEventKey));
    }
    for (const w of this.watched.values()) keys.push(mailboxEventKey(w.ref.repository.name, w.ref.mailbox.id));
    keys.push(...this.listKeys);
    return keys;
  }

  /** An event reached the session (it may concern the selected mailbox too; those are the session's). */
  onEvent(e: MailEvent): void {
    if (e.kind === 'account-changed' || this.groups.length === 0) return;
    if (e.kind === 'mailboxes-changed' || e.kind === 'rights-changed') {
      this.listDirty = true;
    } else {
      const key = `${e.repository}:${e.mailboxId}`;
      if (e.modseq === 0) this.listDirty = true;
      else if (this.watched.has(key)) this.dirty.add(key);
      else return;
    }
    this.wake();
  }

  /** The selected mailbox has news: pushed between commands when a SELECTED filter asks for it. */
  selectedChanged(): void {
    if (this.selected) this.wake();
  }

  /** A command ended: anything that arrived after its release is pushed now. */
  afterCommand(): void {
    const sel = this.session.selected;
    if (this.dirty.size > 0 || this.listDirty || (this.selected && sel?.view.dirty)) this.wake();
  }

  /** Waits for a between-commands push to finish (before a command runs). */
  settled(): Promise<void> {
    return this.pushing;
  }

  /** The session's own command changed these things: re-read them silently (RFC 5465 5, SHOULD). */
  async absorbOwn(commandName: string): Promise<void> {
    if (!OWN_CHANGE_COMMANDS.has(commandName)) return;
    if (this.listDirty) await this.evaluate([], true);
    for (const key of this.dirty) {
      const w = this.watched.get(key);
      if (w) w.counts = await w.ref.repository.store.counts(w.ref.mailbox.id);
    }
    this.dirty.clear();
  }

  /** Sends what changed in the mailbox list, subscriptions and watched mailboxes. */
  async flush(): Promise<void> {
    const out: Response[] = [];
    if (this.listDirty) await this.evaluate(out, false);
    for (const key of [...this.dirty]) {
      this.dirty.delete(key);
      const w = this.watched.get(key);
      if (!w) continue;
      let counts: MailboxCounts;
      try {
        counts = await w.ref.repository.store.counts(w.ref.mailbox.id);
      } catch {
        continue; // deleted meanwhile: the list change reports it
      }
      const before = w.counts;
      w.counts = counts;
      // SELECTED overrides the other filters for the selected mailbox (RFC 5465 3.1).
      if (this.isSelected(w)) continue;
      const items = this.changedItems(w.events, before, counts);
      if (items.length > 0) out.push(this.statusResponse(w, items, counts));
    }
    if (out.length > 0) await this.session.io.send(out);
  }

  /**
   * After the selected mailbox's updates went out: MessageNew's fetch
   * attributes for the messages just announced (RFC 5465 5.2: EXISTS, then FETCH).
   */
  async afterSelectedUpdates(updates: readonly ViewUpdate[]): Promise<void> {
    const sel = this.session.selected;
    if (!sel) return;
    const mailbox = refKey(sel.ref);
    if (mailbox !== this.knownMailbox) this.noteSelected();
    // No FETCH for messages this connection added itself (RFC 5465 5.2, SHOULD NOT).
    const own = OWN_NEW_MESSAGES.has(this.session.runningCommand ?? '');
    const fetch = this.selected?.events.has('MessageNew') && !own ? this.selected.fetch : [];
    const last = sel.view.lastUid;
    if (fetch.length === 0 || !updates.some((u) => u.kind === 'EXISTS')) {
      this.knownUid = Math.max(this.knownUid, last);
      return;
    }
    const fresh = sel.view.allUids().filter((u) => u > this.knownUid);
    this.knownUid = Math.max(this.knownUid, last);
    if (fresh.length === 0) return;
    await fetchNewMessages(this.session, fresh, fetch);
  }

  /** The selected mailbox changed (SELECT): its messages so far count as announced. */
  noteSelected(): void {
    const sel = this.session.selected;
    this.knownMailbox = sel ? refKey(sel.ref) : '';
    this.knownUid = sel?.view.lastUid ?? 0;
  }

  private wake(): void {
    if (!this.session.notifying(this)) return; // replaced by a later NOTIFY, or the session ended
    if (this.session.wakeIdle()) return;
    if (this.session.runningCommand !== null || this.pushQueued) return;
    this.pushQueued = true;
    this.pushing = this.pushing
      .then(async () => {
        this.pushQueued = false;
        if (this.session.runningCommand !== null) return; // the command's end sends it
        const selected = this.selected;
        await this.session.pushUnsolicited(selected ? !selected.delayed : false, selected ? (view) => this.worthPushing(view) : null);
      })
      .catch((err: unknown) => this.session.log.warn('NOTIFY push failed', { err: err instanceof Error ? err : String(err) }));
  }

  /** The selected mailbox's view holds something a SELECTED filter asked for. */
  private worthPushing(view: MailboxView): boolean {
    const s = this.selected;
    if (!s) return false;
    if (s.events.has('FlagChange')) return true;
    if (s.events.has('MessageNew') && view.lastUid > this.knownUid) return true;
    return !s.delayed && s.events.has('MessageExpunge') && view.holdsExpunges;
  }

  private isSelected(w: Watched): boolean {
    const sel = this.session.selected;
    return sel !== null && refKey(sel.ref) === refKey(w.ref);
  }

  /** Which groups cover a mailbox (visible, by its display name). */
  private eventsFor(v: VisibleMailbox, subscribed: ReadonlySet<string>): Set<string> {
    const events = new Set<string>();
    const name = v.info.name;
    for (const g of this.groups) {
      if (covers(g, v, name, subscribed)) for (const e of g.events) events.add(e);
    }
    return events;
  }

  /**
   * Re-reads the visible mailboxes and subscriptions: recomputes the watched
   * set (re-keying the session) and, unless `silent`, reports MailboxName and
   * SubscriptionChange differences as LIST responses (RFC 5465 5.4, 5.5).
   */
  private async evaluate(out: Response[], silent: boolean): Promise<void> {
    this.listDirty = false;
    const account = this.session.account;
    if (!account) return;
    const everything = await this.session.access.visible();
    // Namespace nodes ("Other Users/bob") have no events of their own, but are parents in LIST responses.
    const visible = everything.filter((v) => v.ref !== null);
    const subscriptions = new Set(await this.session.home.store.listSubscriptions(account.id));
    const infos = everything.map((v) => v.info);
    const names = new Map<string, NameEntry>();
    const watched = new Map<string, Watched>();
    const byDisplay = new Map<string, VisibleMailbox>(everything.filter((v) => v.ref === null).map((v) => [v.info.name, v]));
    const listEvents = new Map<string, Set<string>>();
    const mailboxMetadata = new Map<string, MetadataSnapshot>();
    const listKeys = new Set<EventKey>();
    for (const v of visible) {
      const ref = v.ref!;
      const key = refKey({ repository: ref.repository, mailbox: v.info });
      names.set(key, { id: key, display: v.info.name });
      byDisplay.set(v.info.name, v);
      const events = this.eventsFor(v, subscriptions);
      listEvents.set(v.info.name, events);
      if (events.size > 0) listKeys.add(mailboxListEventKey(ref.repository.name, ref.owner.id));
      const messageEvents = v.info.selectable && (events.has('MessageNew') || events.has('FlagChange'));
      if ((messageEvents || events.has('MailboxMetadataChange')) && !ref.rights.includes('r')) {
        // Visible but not readable: \NoAccess at NOTIFY time (RFC 5465 3.1), and not watched.
        if (silent) out.push({ kind: 'LIST', attributes: ['\\NoAccess'], delimiter: '/', mailbox: this.session.toWire(v.info.name) });
        continue;
      }
      if (events.has('MailboxMetadataChange')) {
        const now = await snapshot(ref.repository.store, { accountId: account.id, mailboxId: v.info.id });
        const before = this.mailboxMetadata.get(key);
        mailboxMetadata.set(key, now);
        const changed = before ? diffEntries(before, now) : [];
        if (!silent && changed.length > 0) out.push(metadataResponse(this.session.toWire(v.info.name), changed));
      }
      if (!messageEvents) continue;
      const previous = this.watched.get(key);
      const counts = previous?.counts ?? (await ref.repository.store.counts(v.info.id));
      watched.set(key, { ref: { ...ref, mailbox: ref.mailbox! }, events, counts });
    }
    if (!silent) {
      const listFor = (display: string, extra: string[], oldName?: string): Response => {
        const v = byDisplay.get(display);
        const attributes = v ? [...mailboxAttributes(v.info, infos), ...extra] : ['\\NonExistent', ...extra];
        if (subscriptions.has(display) && !attributes.includes('\\Subscribed')) attributes.push('\\Subscribed');
        return { kind: 'LIST', attributes, delimiter: '/', mailbox: this.session.toWire(display), ...(oldName !== undefined ? { oldName: this.session.toWire(oldName) } : {}) };
      };
      const wantsName = (display: string, old?: Set<string>): boolean =>
        (listEvents.get(display) ?? this.eventsForName(display, subscriptions)).has('MailboxName') || (old?.has('MailboxName') ?? false);
      const reported = new Set<string>();
      const renames: Array<[string, string]> = [];
      for (const [key, now] of names) {
        const before = this.names.get(key);
        if (before && before.display !== now.display) renames.push([before.display, now.display]);
      }
      for (const [from, to] of renames) {
        // Children move with their parent: one event for the parent only (RFC 5465 5.4).
        if (renames.some(([f, t]) => f !== from && from.startsWith(f + '/') && to === t + from.slice(f.length))) continue;
        if (!wantsName(to) && !wantsName(from)) continue;
        out.push(listFor(to, [], from));
        reported.add(to);
      }
      const affected = new Set<string>();
      for (const [key, now] of names) if (!this.names.has(key)) affected.add(now.display);
      for (const [key, before] of this.names) if (!names.has(key)) affected.add(before.display);
      for (const name of [...affected]) {
        const slash = name.lastIndexOf('/');
        if (slash > 0) affected.add(name.slice(0, slash));
      }
      for (const name of [...affected].sort()) {
        if (reported.has(name) || !wantsName(name)) continue;
        if (renames.some(([f, t]) => name === t || name.startsWith(t + '/') || name === f || name.startsWith(f + '/'))) continue;
        out.push(listFor(name, []));
        reported.add(name);
      }
      const changedSubs = [...subscriptions].filter((n) => !this.subscriptions.has(n)).concat([...this.subscriptions].filter((n) => !subscriptions.has(n)));
      for (const name of changedSubs.sort()) {
        const events = listEvents.get(name) ?? this.eventsForName(name, new Set([...subscriptions, ...this.subscriptions]));
        if (!events.has('SubscriptionChange') || reported.has(name)) continue;
        out.push(listFor(name, []));
      }
    }
    if (this.groups.some((g) => g.events.has('ServerMetadataChange'))) {
      listKeys.add(mailboxListEventKey(this.session.home.repository.name, account.id));
      const now = await snapshot(this.session.deps.repositories.primary.store, { accountId: account.id, mailboxId: null });
      const changed = this.serverMetadata ? diffEntries(this.serverMetadata, now) : [];
      if (!silent && changed.length > 0) out.push(metadataResponse('', changed));
      this.serverMetadata = now;
    }
    this.names = names;
    this.subscriptions = subscriptions;
    this.watched = watched;
    this.mailboxMetadata = mailboxMetadata;
    this.listKeys = listKeys;
    this.session.refreshEventKeys();
  }

  /** Groups covering a name that is not (or no longer) a visible mailbox. */
  private eventsForName(name: string, subscribed: ReadonlySet<string>): Set<string> {
    const events = new Set<string>();
    const personal = !isReservedPersonalName(name);
    for (const g of this.groups) {
      if (coversName(g, name, personal, subscribed)) for (const e of g.events) events.add(e);
    }
    return events;
  }

  private initialItems(events: Set<string>): Array<keyof StatusValue> {
    const items: Array<keyof StatusValue> = [];
    if (events.has('MessageNew')) items.push('MESSAGES', 'UIDNEXT', 'UIDVALIDITY');
    if (events.has('FlagChange') && this.session.condstore) {
      if (!items.includes('UIDVALIDITY')) items.push('UIDVALIDITY');
      items.push('HIGHESTMODSEQ');
    }
    return items;
  }

  /** STATUS items for a change (RFC 5465 5.1-5.3); [] when nothing is to be told. */
  private changedItems(events: Set<string>, before: MailboxCounts, now: MailboxCounts): Array<keyof StatusValue> {
    const condstore = this.session.condstore;
    const items: Array<keyof StatusValue> = [];
    const messagesChanged = before.messages !== now.messages || before.uidNext !== now.uidNext;
    if (before.uidValidity !== now.uidValidity) items.push('UIDVALIDITY');
    if ((events.has('MessageNew') || events.has('MessageExpunge')) && messagesChanged) {
      items.push('MESSAGES', 'UIDNEXT');
      if (condstore) items.push('HIGHESTMODSEQ');
      return items;
    }
    if (events.has('FlagChange') && before.highestModseq !== now.highestModseq) {
      if (before.unseen !== now.unseen) items.push('UNSEEN');
      if (condstore) {
        if (!items.includes('UIDVALIDITY')) items.push('UIDVALIDITY');
        items.push('HIGHESTMODSEQ');
      }
    }
    return items;
  }

  private statusResponse(w: Watched, items: Array<keyof StatusValue>, counts: MailboxCounts): Response {
    const all: StatusValue = {
      MESSAGES: counts.messages,
      UIDNEXT: counts.uidNext,
      UIDVALIDITY: counts.uidValidity,
      UNSEEN: counts.unseen,
      HIGHESTMODSEQ: counts.highestModseq,
    };
    const values: StatusValue = {};
    for (const item of ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'HIGHESTMODSEQ'] as const) if (items.includes(item)) values[item] = all[item];
    return { kind: 'STATUS', mailbox: this.session.toWire(w.ref.display), values };
  }
}

function isPersonal(v: VisibleMailbox): boolean {
  return v.ref?.namespace === 'personal';
}

function covers(g: OtherGroup, v: VisibleMailbox, name: string, subscribed: ReadonlySet<string>): boolean {
  return coversName(g, name, isPersonal(v), subscribed);
}

function coversName(g: OtherGroup, name: string, personal: boolean, subscribed: ReadonlySet<string>): boolean {
  switch (g.filter.kind) {
    case 'PERSONAL':
    case 'INBOXES': // "inboxes" may be "personal" (RFC 5465 6.3): any personal mailbox can receive mail here
      return personal;
    case 'SUBSCRIBED':
      return subscribed.has(name);
    case 'SUBTREE':
      return g.names.some((n) => name === n || name.startsWith(n + '/'));
    case 'MAILBOXES':
      return g.names.includes(name);
    default:
      return false; // SELECTED / SELECTED-DELAYED are not "other" groups
  }
}

async function snapshot(store: MailStore, target: MetadataTarget): Promise<MetadataSnapshot> {
  const entries = await store.getMetadata(target, ALL_ENTRIES, { depth: 'infinity' });
  return new Map(entries.map((e) => [e.name, e.value.toString('hex')]));
}

/** Entry names set, changed or removed between two snapshots, in name order. */
function diffEntries(before: MetadataSnapshot, now: MetadataSnapshot): string[] {
  const names = new Set<string>();
  for (const [name, value] of now) if (before.get(name) !== value) names.add(name);
  for (const name of before.keys()) if (!now.has(name)) names.add(name);
  return [...names].sort();
}

function metadataResponse(mailbox: string, names: string[]): Response {
  return { kind: 'METADATA', mailbox, entries: names.map((name) => ({ name, value: null })), namesOnly: true };
}

/**
 * Unsolicited FETCH of `attributes` for new messages of the selected mailbox
 * (NOTIFY MessageNew, RFC 5465 5.2; SEARCH/SORT RETURN (UPDATE (...)), 7):
 * the FETCH command's own code, as a UID FETCH (so UID is included).
 */
export async function fetchNewMessages(session: Session, uids: number[], attributes: readonly FetchAttribute[]): Promise<void> {
  if (uids.length === 0 || !session.selected) return;
  const command = { name: 'FETCH' as const, uid: true, set: compressUids(uids), attributes: attributes.map((a) => ({ ...a })), modifiers: {}, macro: null };
  await fetchHandler({ tag: '*', command, session, deps: session.deps });
}
