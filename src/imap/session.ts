// One IMAP session: the state union, the gate in front of every handler, the
// release of untagged mailbox updates where RFC 9051 allows them, and the
// enabled extensions. No socket code here: the connection gives a SessionIO.

import { isFrozen } from '../mail/account-freeze.js';
import { isMailError } from '../mail/errors.js';
import type { EventSubscription } from '../mail/ports.js';
import { needsProvisioning, provisionMailboxes } from '../mail/provision.js';
import type { Account, AccountId, MailboxInfo, MailEvent } from '../mail/types.js';
import type { Command } from '../protocol/imap/ast.js';
import type { FetchItem, Response, SerializeOptions } from '../protocol/imap/response.js';
import { compressUids } from '../protocol/imap/sequence.js';
import type { Logger } from '../util/log.js';
import { capabilities, type CapabilityState } from './capabilities.js';
import type { Repository } from '../mail/repository.js';
import { MailboxAccess, type ExistingRef } from './mailbox-access.js';
import type { HandlerContext, ImapServerDeps, SelectedMailbox, SessionDeps, SessionState, StateKind, TaggedResult } from './context.js';
import { mapError } from './errors.js';
import { unknownSystemFlag } from './flags.js';
import { mailboxFromWire, mailboxToWire } from './mailbox-names.js';
import { holdsExpunges, isUidCommand, REGISTRY } from './registry.js';
import { sessionEventKeys } from './session-events.js';
import { fetchNewMessages, type NotifyState } from './notify.js';
import { prepareContextUpdates } from './search-context.js';
import { asUidFetch, uidOnlyViolation } from './uidonly.js';
import type { MailboxView, ViewUpdate } from './view.js';

/** What the session needs from its connection. */
export interface SessionIO {
  readonly remoteAddress: string;
  /** The client's port: with its address, the connection in firewall and proxy logs. */
  readonly remotePort: number | null;
  readonly secure: boolean;
  /** COMPRESS=DEFLATE (RFC 4978) is active on this connection (optional: test doubles may omit it). */
  readonly compressed?: boolean;
  /** Serialises and writes, resolving when the socket accepted the bytes (backpressure). */
  send(responses: Response[]): Promise<void>;
  /** The next line the client sends (SASL responses, IDLE's DONE); null when the connection ended. */
  readLine(): Promise<Buffer | null>;
}

/** Per-user connection accounting, owned by the server (asynchronous with worker processes). */
export interface UserSlots {
  acquire(user: string): boolean | Promise<boolean>;
  release(user: string): void;
}

/**
 * The selected mailbox was deleted by another session (or server). RFC 9051
 * leaves the reaction open; like Dovecot we end the session with this BYE at
 * the next command or IDLE wake-up, since the client's MSNs and UIDs refer to
 * a mailbox that no longer exists and it must resynchronise anyway. A rename
 * elsewhere keeps the mailbox (same id, UIDVALIDITY and UIDs), so the
 * session simply stays on it under its new name.
 */
const MAILBOX_DELETED = 'Selected mailbox was deleted, have to disconnect.';

/** The selected mailbox got a new UIDVALIDITY (store/postgres/rollback.ts): the client must resynchronise. */
const UIDVALIDITY_CHANGED = 'UIDVALIDITY of the selected mailbox changed, have to disconnect.';

const STATE_TEXT: Record<StateKind, string> = {
  'not-authenticated': 'not authenticated',
  authenticated: 'authenticated (no mailbox selected)',
  selected: 'selected',
  logout: 'logout',
};

export class Session {
  private current: SessionState = { kind: 'not-authenticated' };
  /** Extensions turned on by ENABLE (upper case). */
  readonly enabled = new Set<string>();
  /** RFC 9051 6.4.4.1 search result variable "$", as UIDs. */
  savedSearch: number[] = [];
  /** The running command is a UID command (unsolicited FETCH then carries UID). */
  private uidCommand = false;
  /** Highest MODSEQ the running command sent (CONDSTORE sessions). */
  private modseqSent = 0;
  /** Called when the selected mailbox changed while IDLE runs. */
  private idleWake: (() => void) | null = null;
  /** Keyed by sessionEventKeys(state): a publish reaches only the sessions it concerns. */
  private readonly subscription: EventSubscription;
  private slotUser: string | null = null;
  /** The directory entry may have changed (disabled, deleted): look it up before the next command. */
  private accountStale = false;
  /** The selected mailbox may have been deleted or renamed elsewhere. */
  private mailboxStale = false;
  /** Set when the session must end: the text of its BYE. */
  private byeText: string | null = null;
  private resolveEnding!: () => void;
  /** Resolves when the session must end (IDLE races it against the client's DONE). */
  readonly ending: Promise<void> = new Promise((resolve) => (this.resolveEnding = resolve));
  readonly log: Logger;

  /**
   * The server's deps with the session's repository: what handlers get. The
   * account's repository, or while a mailbox is selected, the selected
   * mailbox's (an other user's or shared mailbox may live elsewhere).
   */
  private sessionDeps: SessionDeps;
  /** The account's own repository's deps (set at login). */
  private homeDeps: SessionDeps;
  private mailboxAccess: MailboxAccess | null = null;
  /** RFC 5465 NOTIFY state (notify.ts), null until NOTIFY SET / after NOTIFY NONE. */
  private notifyState: NotifyState | null = null;
  /** The command between the gate and its tagged response, or null (NOTIFY pushes wait for its end). */
  runningCommand: string | null = null;

  constructor(
    readonly serverDeps: ImapServerDeps,
    readonly io: SessionIO,
    private readonly slots: UserSlots,
  ) {
    const primary = serverDeps.repositories.primary;
    // Before login nothing reads a mailbox: the repository's own store and ingest.
    this.sessionDeps = { ...serverDeps, repository: primary, store: primary.store, blobs: primary.blobs, ingest: primary.ingest };
    this.homeDeps = this.sessionDeps;
    const deps = serverDeps;
    this.log = deps.logger.child({ remote: io.remoteAddress, port: io.remotePort });
    this.log.debug('connected');
    this.subscription = deps.events.subscribeKeys((e) => this.onEvent(e), []);
  }

  get state(): SessionState {
    return this.current;
  }

  /** Every state change (login, SELECT, CLOSE, logout) re-keys the event subscription. */
  set state(next: SessionState) {
    this.current = next;
    this.refreshEventKeys();
    this.notifyState?.noteSelected();
  }

  /** Re-keys the event subscription: the state's keys plus NOTIFY's. */
  refreshEventKeys(): void {
    this.subscription.setKeys([...sessionEventKeys(this.current), ...(this.notifyState?.eventKeys() ?? [])]);
  }

  /** NOTIFY SET (a new state) or NOTIFY NONE (null). */
  setNotify(state: NotifyState | null): void {
    this.notifyState = state;
    this.refreshEventKeys();
  }

  /** `state` is the session's current NOTIFY state (an older one must stop pushing). */
  notifying(state: NotifyState): boolean {
    return this.notifyState === state;
  }

  /** Wakes a running IDLE (true) so it sends the news; false when not idling. */
  wakeIdle(): boolean {
    if (!this.idleWake) return false;
    this.idleWake();
    return true;
  }

  /**
   * NOTIFY (RFC 5465 3.1): updates sent between commands. The selected
   * mailbox's go out only when `worth` says the client asked for what the
   * view now holds (new messages, expunges, flag changes).
   */
  async pushUnsolicited(allowExpunge: boolean, worth: ((view: MailboxView) => boolean) | null): Promise<void> {
    await this.checkStillValid();
    if (this.byeText !== null) return;
    const sel = this.selected;
    if (sel && worth && sel.view.dirty) {
      try {
        await sel.view.refresh();
      } catch (e) {
        sel.view.dirty = true; // the next command's release reports it (or the deletion)
        this.log.warn('NOTIFY refresh failed', { err: e instanceof Error ? e : String(e) });
      }
    }
    if (sel && worth?.(sel.view)) await this.releaseUpdates(allowExpunge, false);
    else await this.notifyState?.flush();
  }

  get deps(): SessionDeps {
    return this.sessionDeps;
  }

  /** Deps of the account's own repository, whatever is selected (APPEND literals are staged there). */
  get home(): SessionDeps {
    return this.homeDeps;
  }

  /** Mailbox lookups with namespaces and rights; only after login. */
  get access(): MailboxAccess {
    if (!this.mailboxAccess) throw new Error('mailbox access before login');
    return this.mailboxAccess;
  }

  /** Enters the selected state on `ref`'s mailbox; handlers then work in its repository. */
  enterSelected(ref: ExistingRef, view: MailboxView, readOnly: boolean): void {
    const account = this.account!;
    this.sessionDeps = ref.repository === this.homeDeps.repository ? this.homeDeps : withRepository(this.serverDeps, ref.repository, account);
    this.state = { kind: 'selected', account, mailbox: ref.mailbox, readOnly, view, ref };
  }

  get utf8(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  /** A CONDSTORE enabling command ran (RFC 7162 3.1): every untagged FETCH carries UID and MODSEQ. */
  get condstore(): boolean {
    return this.enabled.has('CONDSTORE');
  }

  /** ENABLE QRESYNC ran: VANISHED replaces EXPUNGE (RFC 7162 3.2.10). */
  /** ENABLE UIDONLY ran (RFC 9586): no message numbers in or out (see uidonly.ts). */
  get uidOnly(): boolean {
    return this.enabled.has('UIDONLY');
  }

  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }

  /**
   * Called by every CONDSTORE enabling command (RFC 7162 3.1). The first one
   * with a mailbox selected reports that mailbox's HIGHESTMODSEQ.
   */
  async enableCondstore(): Promise<void> {
    if (this.condstore) return;
    this.enabled.add('CONDSTORE');
    const sel = this.selected;
    if (sel) await this.send({ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: sel.view.safeModseq }, text: 'Highest' });
  }

  get serializeOptions(): SerializeOptions {
    return { utf8: this.utf8, rev2: this.rev2 };
  }

  get account(): Account | null {
    return this.state.kind === 'authenticated' || this.state.kind === 'selected' ? this.state.account : null;
  }

  get selected(): SelectedMailbox | null {
    return this.state.kind === 'selected' ? this.state : null;
  }

  capabilityState(): CapabilityState {
    return {
      authenticated: this.account !== null,
      secure: this.io.secure,
      tlsAvailable: !!(this.deps.config.tls.certFile && this.deps.config.tls.keyFile),
      allowPlaintextAuth: this.deps.config.imap.allowPlaintextAuth,
      appendLimit: this.deps.config.limits.maxMessageSize,
    };
  }

  capabilities(): string[] {
    return capabilities(this.capabilityState());
  }

  fromWire(name: string): string {
    return mailboxFromWire(name, this.utf8);
  }

  /** Decodes a LIST pattern or reference (no INBOX folding; the matcher handles it). */
  fromWireLoose(name: string): string {
    return name === '' ? '' : mailboxFromWire(name, this.utf8, false);
  }

  toWire(name: string): string {
    return mailboxToWire(name, this.utf8);
  }

  send(...responses: Response[]): Promise<void> {
    if (this.condstore) {
      for (const r of responses) {
        if (r.kind !== 'FETCH') continue;
        for (const item of r.items) if (item.kind === 'MODSEQ' && item.modseq > this.modseqSent) this.modseqSent = item.modseq;
      }
    }
    // RFC 9586 3.3: FETCH data as UIDFETCH once UIDONLY is on.
    return this.io.send(this.uidOnly ? responses.map((r) => asUidFetch(r, this.selected?.view ?? null)) : responses);
  }

  /** Runs one command through the gate, its handler, the update release and the tagged response. */
  async execute(tag: string, command: Command): Promise<TaggedResult> {
    const spec = REGISTRY[command.name];
    let result: TaggedResult;
    // From here on NOTIFY pushes wait for the command's end (and one in flight is waited for).
    this.runningCommand = command.name;
    await this.notifyState?.settled();
    await this.checkStillValid();
    if (this.byeText !== null) return this.endWithBye();
    const badFlag = unknownSystemFlag(command);
    const uidRequired = this.uidOnly ? uidOnlyViolation(command) : null;
    if (!spec) {
      result = { status: 'BAD', text: `Unknown command ${command.name}` };
    } else if (!spec.states.includes(this.state.kind)) {
      result = { status: 'BAD', text: `${command.name} not allowed in the ${STATE_TEXT[this.state.kind]} state` };
    } else if (badFlag !== null) {
      result = { status: 'BAD', text: `Unknown system flag ${badFlag}` };
    } else if (uidRequired !== null) {
      result = { status: 'BAD', code: { kind: 'UIDREQUIRED' }, text: uidRequired };
    } else {
      this.uidCommand = isUidCommand(command);
      this.modseqSent = 0;
      const ctx: HandlerContext = { tag, command, session: this, deps: this.deps };
      try {
        result = await spec.handler(ctx);
      } catch (e) {
        const target = command.name === 'APPEND' || command.name === 'COPY' || command.name === 'MOVE';
        result = mapError(e, { target, logger: this.log, command: command.name });
      }
      if (this.byeText === null) {
        try {
          // A MODSEQ read from the store may be ahead of the view (another server's change whose
          // event has not arrived): catch up now, so every change below it is told or, for held
          // expunges, a lower HIGHESTMODSEQ is (RFC 7162 3.2, 6).
          const ahead = this.modseqSent > (this.selected?.view.highestModseq ?? Infinity);
          await this.notifyState?.absorbOwn(command.name);
          await this.releaseUpdates(!holdsExpunges(command), spec.polls || ahead);
        } catch (e) {
          this.log.warn('mailbox refresh failed', { err: e instanceof Error ? e : String(e) });
        }
      }
      this.uidCommand = false;
    }
    this.runningCommand = null;
    if (this.byeText !== null) return this.endWithBye();
    await this.send({ kind: 'tagged', tag, status: result.status, ...(result.code ? { code: result.code } : {}), text: result.text });
    // NOTIFY: news that arrived after the command's release goes out now, not at the next command.
    this.notifyState?.afterCommand();
    return result;
  }

  /** The session must end with BYE `text` (at the end of the running command, or now in IDLE). */
  end(text: string): void {
    if (this.byeText !== null) return;
    this.byeText = text;
    this.resolveEnding();
  }

  /**
   * Sends the BYE and tells the connection to close. The command gets no
   * tagged response: after BYE the server closes the connection (RFC 9051 7.1.5).
   */
  private async endWithBye(): Promise<TaggedResult> {
    const text = this.byeText!;
    await this.send({ kind: 'status', status: 'BYE', text });
    return { status: 'NO', text, after: 'logout' };
  }

  /**
   * After an event said so: ends the session when its account was deleted or
   * disabled, or its selected mailbox deleted (see MAILBOX_DELETED).
   */
  async checkStillValid(): Promise<void> {
    if (this.byeText !== null) return;
    try {
      const account = this.account;
      if (account && this.accountStale) {
        this.accountStale = false;
        const current = await this.deps.directory.findAccount(account.name);
        if (!current || current.id !== account.id) return this.end('Account was deleted');
        if (current.disabled) return this.end('Account was disabled');
        // `petrel user move`: the client reconnects and reaches the account where it now is.
        if (isFrozen(current) || current.repository !== account.repository) return this.end('Account is moving to another repository; reconnect');
      }
      const sel = this.selected;
      if (sel && this.mailboxStale) {
        this.mailboxStale = false;
        const mailbox = await this.deps.store.getMailboxById(sel.mailbox.id);
        if (!mailbox || !mailbox.selectable) return this.end(MAILBOX_DELETED);
        // A new UIDVALIDITY (after a database fail-over that lost changes): RFC 9051 2.3.1.1 lets it change only between sessions.
        if (mailbox.uidValidity !== sel.mailbox.uidValidity) return this.end(UIDVALIDITY_CHANGED);
        sel.mailbox = mailbox; // renamed elsewhere: same mailbox, new name
        sel.ref = { ...sel.ref, mailbox, name: mailbox.name };
        // An ACL change publishes the owner's mailboxes-changed too: RFC 4314 5.1.1 lets us end the session.
        if (sel.ref.namespace !== 'personal') {
          sel.ref.rights = await this.access.rightsOn(sel.ref);
          if (!sel.ref.rights.includes('r')) return this.end('Access to the selected mailbox was revoked');
        }
      }
    } catch (e) {
      // A lookup failure is not a reason to drop the client; the next event tries again.
      this.log.warn('session check failed', { err: e instanceof Error ? e : String(e) });
    }
  }

  /** Pulls the change log (when there is news or `poll`) and sends what may be sent now. */
  async releaseUpdates(allowExpunge: boolean, poll: boolean): Promise<void> {
    // NOTIFY: other mailboxes' STATUS and the mailbox list's LIST responses first.
    await this.notifyState?.flush();
    const sel = this.selected;
    if (!sel) return;
    if (poll || sel.view.dirty) {
      try {
        await sel.view.refresh();
      } catch (e) {
        if (!isMailError(e, 'NOT_FOUND')) throw e;
        this.end(MAILBOX_DELETED);
        return;
      }
      // The refresh may have found the mailbox changed (a new UIDVALIDITY): end before telling anything of it.
      if (this.mailboxStale) await this.checkStillValid();
      if (this.byeText !== null) return;
    }
    // RFC 5267 update contexts (search-context.ts): REMOVEFROM before the updates, ADDTO after.
    const contexts = await prepareContextUpdates(this);
    const updates = sel.view.takeUpdates(allowExpunge);
    const out = [...(contexts?.before ?? []), ...this.updateResponses(updates)];
    // Expunges held back while MODSEQs went out: the client must not take the
    // highest MODSEQ it saw as its resync point (RFC 7162 3.2).
    if (this.condstore && sel.view.holdsExpunges) {
      out.push({ kind: 'status', status: 'OK', code: { kind: 'HIGHESTMODSEQ', modseq: sel.view.safeModseq }, text: 'Expunges pending' });
    }
    if (contexts) out.push(...contexts.after());
    if (out.length > 0) await this.io.send(out);
    // RFC 5465 7: UPDATE's fetch attributes for new messages, after the ADDTO.
    for (const f of contexts?.fetches ?? []) await fetchNewMessages(this, f.uids, f.attributes);
    await this.notifyState?.afterSelectedUpdates(updates);
  }

  /** Untagged responses for view updates; with QRESYNC the expunges become one VANISHED (RFC 7162 3.2.10.2). */
  private updateResponses(updates: ViewUpdate[]): Response[] {
    const out: Response[] = [];
    const vanished: number[] = [];
    let vanishedAt = -1;
    for (const u of updates) {
      if (u.kind === 'EXPUNGE' && (this.qresync || this.uidOnly)) {
        if (vanishedAt < 0) vanishedAt = out.length;
        vanished.push(u.uid);
      } else {
        out.push(this.updateResponse(u));
      }
    }
    if (vanishedAt >= 0) out.splice(vanishedAt, 0, { kind: 'VANISHED', earlier: false, uids: compressUids(vanished) });
    return out;
  }

  private updateResponse(u: ViewUpdate): Response {
    switch (u.kind) {
      case 'EXPUNGE':
        return { kind: 'EXPUNGE', seq: u.seq };
      case 'EXISTS':
        return { kind: 'EXISTS', count: u.count };
      case 'FLAGS': {
        const items: FetchItem[] = [];
        // RFC 9586 3.6: UIDFETCH (keyed by the UID) once UIDONLY is on.
        if (this.uidOnly) {
          const data: FetchItem[] = [{ kind: 'FLAGS', flags: u.flags }];
          if (this.condstore) data.push({ kind: 'MODSEQ', modseq: u.modseq });
          return { kind: 'UIDFETCH', uid: u.uid, items: data };
        }
        // RFC 7162 3.2.4: once CONDSTORE is on, every untagged FETCH carries UID and MODSEQ.
        // RFC 5465 5.1: with NOTIFY SELECTED a FlagChange FETCH carries the UID.
        if (this.uidCommand || this.condstore || this.notifyState?.selected) items.push({ kind: 'UID', uid: u.uid });
        items.push({ kind: 'FLAGS', flags: u.flags });
        if (this.condstore) items.push({ kind: 'MODSEQ', modseq: u.modseq });
        return { kind: 'FETCH', seq: u.seq, items };
      }
    }
  }

  /** Enters IDLE: `wake` runs whenever the selected mailbox changes. */
  setIdleWake(wake: (() => void) | null): void {
    this.idleWake = wake;
  }

  private onEvent(e: MailEvent): void {
    if (e.kind === 'account-changed') {
      if (this.account?.name !== e.accountName) return;
      this.accountStale = true;
      this.idleWake?.();
      return;
    }
    // With read replicas, what the event announces must be read where it is already replayed.
    this.sessionDeps.store.noteChange?.();
    if (this.homeDeps !== this.sessionDeps) this.homeDeps.store.noteChange?.();
    this.notifyState?.onEvent(e);
    if (e.kind === 'rights-changed') return; // NOTIFY's only: the owner's mailboxes-changed tells the selected mailbox
    const sel = this.selected;
    // The selected mailbox may be another owner's, in another repository.
    if (!sel || sel.ref.owner.id !== e.accountId || sel.ref.repository.name !== e.repository) return;
    if (e.kind === 'mailboxes-changed') {
      this.mailboxStale = true;
      return;
    }
    if (sel.view.mailboxId !== e.mailboxId) return;
    // modseq 0: the mailbox itself changed (deleted, renamed).
    if (e.modseq === 0) this.mailboxStale = true;
    if (e.modseq > sel.view.highestModseq || e.modseq === 0) sel.view.dirty = true;
    else return;
    this.idleWake?.();
    if (!this.idleWake) this.notifyState?.selectedChanged();
  }

  /**
   * Tells other sessions (through the bus of the mailbox's repository) that
   * a mailbox changed; modseq 0: the mailbox itself (deleted, renamed).
   */
  publishChange(where: { repository: Repository; mailbox: Pick<MailboxInfo, 'id' | 'accountId'> }, modseq: number): void {
    const { repository, mailbox } = where;
    repository.events.publish({ kind: 'mailbox-changed', repository: repository.name, accountId: mailbox.accountId, mailboxId: mailbox.id, modseq });
  }

  /** The mailbox list of an owner changed (CREATE, DELETE, RENAME, ACL changes). */
  publishMailboxesChanged(where: { repository: Repository; owner: { id: AccountId } }): void {
    where.repository.events.publish({ kind: 'mailboxes-changed', repository: where.repository.name, accountId: where.owner.id });
  }

  /** After LOGIN/AUTHENTICATE verified the credentials. Returns the tagged result. */
  async completeLogin(account: Account): Promise<TaggedResult> {
    const acquired = await this.slots.acquire(account.name);
    if (acquired && this.state.kind === 'logout') {
      // The connection went away while the slot was being granted.
      this.slots.release(account.name);
      return { status: 'NO', text: 'Connection closed' };
    }
    if (!acquired) {
      this.log.info('login refused', { user: account.name, reason: 'too many connections for this user' });
      await this.send({ kind: 'status', status: 'BYE', text: 'Too many connections for this user' });
      return { status: 'NO', code: { kind: 'LIMIT' }, text: 'Too many connections for this user', after: 'logout' };
    }
    this.slotUser = account.name;
    try {
      const home = await this.serverDeps.repositories.forAccount(account);
      this.homeDeps = this.sessionDeps = withRepository(this.serverDeps, home, account);
      this.mailboxAccess = new MailboxAccess(this.serverDeps.repositories, account, home);
    } catch (err) {
      // dispose() may have released it already (the connection closed meanwhile).
      if (this.slotUser) this.slots.release(this.slotUser);
      this.slotUser = null;
      throw err;
    }
    await this.ensureDefaultMailboxes(account);
    // Gone while the account was being opened: dispose() released the slot; stay logged out.
    if (this.state.kind === 'logout') return { status: 'NO', text: 'Connection closed' };
    this.state = { kind: 'authenticated', account };
    this.log.info('login', { user: account.name });
    return { status: 'OK', code: { kind: 'CAPABILITY', capabilities: this.capabilities() }, text: 'Logged in' };
  }

  /** First login of an account nobody provisioned yet: INBOX and the configured special-use folders. */
  private async ensureDefaultMailboxes(account: Account): Promise<void> {
    const store = this.deps.store;
    if (!(await needsProvisioning(store, account.id))) return;
    const created = await provisionMailboxes(store, account.id, this.deps.config.imap.defaultMailboxes);
    if (created.length > 0) this.log.info('provisioned mailboxes', { user: account.name, mailboxes: created });
  }

  /** Leaves the selected state (CLOSE, UNSELECT, a new SELECT). */
  deselect(): void {
    const account = this.account;
    this.sessionDeps = this.homeDeps;
    if (account) this.state = { kind: 'authenticated', account };
    this.savedSearch = [];
  }

  /** The connection is gone: release everything. */
  dispose(): void {
    this.notifyState = null;
    this.subscription.unsubscribe();
    this.idleWake = null;
    if (this.slotUser) this.slots.release(this.slotUser);
    this.slotUser = null;
    this.state = { kind: 'logout' };
  }
}

/** The deps of a session working in `repository` for `account` (its reader's view, with read replicas). */
function withRepository(deps: ImapServerDeps, repository: Repository, account: Pick<Account, 'id'>): SessionDeps {
  const { store, ingest } = repository.forReader?.(account.id) ?? repository;
  return { ...deps, repository, store, blobs: repository.blobs, ingest };
}
