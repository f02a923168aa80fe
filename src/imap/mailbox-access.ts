// Which mailbox a name means for the logged-in user, in which repository,
// and with which rights (RFC 4314): the one place handlers look mailboxes
// up. Personal mailboxes are the user's own (every right); other users'
// and shared mailboxes are reached through the namespaces (namespaces.ts)
// and are visible only as far as their ACL allows. A mailbox the user may
// not even look up ("l") is reported exactly as a missing one (RFC 4314 6).

import { ALL_RIGHTS, effectiveRights, identifiersOf } from '../mail/acl.js';
import { MailError } from '../mail/errors.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { Account, AccountId, MailboxInfo } from '../mail/types.js';
import { HIERARCHY_DELIMITER } from '../mail/types.js';
import { CommandError } from './context.js';
import { displayName, OTHER_USERS, parseMailboxName, SHARED, SHARED_OWNER } from './namespaces.js';

export type Namespace = 'personal' | 'other' | 'shared';

export interface MailboxRef {
  /** The name the client uses (decoded). */
  display: string;
  namespace: Namespace;
  repository: Repository;
  owner: { id: AccountId; name: string };
  /** The name in the owner's own tree. */
  name: string;
  /** null: no such mailbox (or one the user may not look up). */
  mailbox: MailboxInfo | null;
  /** The user's rights on it ("" when it does not exist). */
  rights: string;
}

/** A reference to a mailbox that exists and is visible. */
export type ExistingRef = MailboxRef & { mailbox: MailboxInfo };

/** Where a mailbox is: a repository and the mailbox's id there. */
export interface MailboxPlace {
  repository: Repository;
  mailbox: Pick<MailboxInfo, 'id'>;
}

/** True when `a` and `b` are the same mailbox (ids are per repository), e.g. a command's target and the selected one. */
export function sameMailbox(a: MailboxPlace, b: MailboxPlace): boolean {
  return a.mailbox.id === b.mailbox.id && a.repository === b.repository;
}

/** A mailbox (or namespace node) LIST may show: `info.name` is the display name. */
export interface VisibleMailbox {
  info: MailboxInfo;
  /** null for a namespace node ("Other Users", "Other Users/bob", "Shared"), always \Noselect. */
  ref: MailboxRef | null;
}

export class MailboxAccess {
  constructor(
    private readonly repositories: Repositories,
    private readonly user: Account,
    private readonly home: Repository,
  ) {}

  /** What `display` names for this user, or null when it is no mailbox name at all (a namespace root, an unknown user). */
  async resolve(display: string): Promise<MailboxRef | null> {
    const parsed = parseMailboxName(display);
    if (parsed.namespace === 'personal') {
      const mailbox = await this.home.store.getMailbox(this.user.id, parsed.name);
      return {
        // The stored spelling ("inbox/x" is "INBOX/x").
        display: mailbox?.name ?? display,
        namespace: 'personal',
        repository: this.home,
        owner: { id: this.user.id, name: this.user.name },
        name: mailbox?.name ?? parsed.name,
        mailbox,
        rights: mailbox ? ALL_RIGHTS : '',
      };
    }
    if (parsed.name === null) return null;
    const ownerName = parsed.namespace === 'shared' ? SHARED_OWNER : parsed.owner;
    if (ownerName === this.user.name) return null;
    const owner = await this.repositories.directory.findAccount(ownerName);
    if (!owner) return null;
    const repository = await this.repositories.forAccount(owner);
    const found = await repository.store.getMailbox(owner.id, parsed.name);
    const rights = found ? effectiveRights(await repository.store.getAcl(found.id), this.user.name, false) : '';
    // Not even "l": as if it did not exist (RFC 4314 6).
    const mailbox = found && rights.includes('l') ? found : null;
    return {
      display: displayName(parsed.namespace, owner.name, found?.name ?? parsed.name),
      namespace: parsed.namespace,
      repository,
      owner: { id: owner.id, name: owner.name },
      name: found?.name ?? parsed.name,
      mailbox,
      rights: mailbox ? rights : '',
    };
  }

  /**
   * The mailbox for a command that needs `right` (and that it exists):
   * NO [NONEXISTENT] (or [TRYCREATE] for a target) when missing or not
   * visible, NO [NOPERM] when visible without the right.
   */
  async require(display: string, right: string, options: { target?: boolean } = {}): Promise<ExistingRef> {
    const ref = await this.resolve(display);
    if (!ref?.mailbox) {
      throw new CommandError({ status: 'NO', code: { kind: options.target ? 'TRYCREATE' : 'NONEXISTENT' }, text: 'Mailbox does not exist' });
    }
    for (const r of right) {
      if (!ref.rights.includes(r)) throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: `Permission denied (needs the "${right}" right)` });
    }
    return ref as ExistingRef;
  }

  /**
   * The rights on the nearest existing parent of a mailbox to be created
   * (RFC 4314 4: CREATE needs "k" there). Personal: every right. The
   * namespace roots themselves give none (shared mailboxes at the top are
   * created by the administrator).
   */
  async parentRights(ref: MailboxRef): Promise<{ rights: string; parent: MailboxInfo | null }> {
    if (ref.namespace === 'personal') return { rights: ALL_RIGHTS, parent: null };
    const parts = ref.name.split(HIERARCHY_DELIMITER);
    for (let n = parts.length - 1; n >= 1; n--) {
      const parent = await ref.repository.store.getMailbox(ref.owner.id, parts.slice(0, n).join(HIERARCHY_DELIMITER));
      if (!parent) continue;
      return { rights: effectiveRights(await ref.repository.store.getAcl(parent.id), this.user.name, false), parent };
    }
    return { rights: '', parent: null };
  }

  /** Rights of the user on a mailbox of some repository (for rechecks of the selected mailbox). */
  async rightsOn(ref: MailboxRef): Promise<string> {
    if (ref.namespace === 'personal') return ALL_RIGHTS;
    if (!ref.mailbox) return '';
    return effectiveRights(await ref.repository.store.getAcl(ref.mailbox.id), this.user.name, false);
  }

  /**
   * Everything LIST may show: the personal mailboxes, then the other users'
   * and shared mailboxes the user has "l" on, with their namespace nodes.
   * A repository that cannot be reached is left out (and logged by the caller's error path).
   */
  async visible(): Promise<VisibleMailbox[]> {
    const out: VisibleMailbox[] = [];
    for (const info of await this.home.store.listMailboxes(this.user.id)) {
      out.push({
        info,
        ref: {
          display: info.name,
          namespace: 'personal',
          repository: this.home,
          owner: { id: this.user.id, name: this.user.name },
          name: info.name,
          mailbox: info,
          rights: ALL_RIGHTS,
        },
      });
    }
    const names = new Map<AccountId, string | null>();
    const ownerName = async (id: AccountId): Promise<string | null> => {
      if (!names.has(id)) names.set(id, (await this.repositories.directory.getAccount(id))?.name ?? null);
      return names.get(id)!;
    };
    const nodes = new Set<string>();
    for (const repository of await this.repositories.all()) {
      let found: Awaited<ReturnType<Repository['store']['mailboxesWithAcl']>>;
      try {
        found = await repository.store.mailboxesWithAcl(identifiersOf(this.user.name));
      } catch (err) {
        if (err instanceof MailError && err.code === 'UNAVAILABLE') continue;
        throw err;
      }
      for (const { mailbox, acl } of found) {
        if (mailbox.accountId === this.user.id) continue;
        const rights = effectiveRights(acl, this.user.name, false);
        if (!rights.includes('l')) continue;
        const owner = await ownerName(mailbox.accountId);
        if (owner === null) continue;
        const namespace: Namespace = owner === SHARED_OWNER ? 'shared' : 'other';
        const display = displayName(namespace, owner, mailbox.name);
        if (namespace === 'shared') nodes.add(SHARED);
        else nodes.add(OTHER_USERS).add(`${OTHER_USERS}${HIERARCHY_DELIMITER}${owner}`);
        out.push({
          info: { ...mailbox, name: display },
          ref: { display, namespace, repository, owner: { id: mailbox.accountId, name: owner }, name: mailbox.name, mailbox, rights },
        });
      }
    }
    for (const node of nodes) out.push({ info: namespaceNode(node), ref: null });
    return out;
  }
}

function namespaceNode(name: string): MailboxInfo {
  return { id: -1, accountId: -1, name, uidValidity: 0, uidNext: 0, highestModseq: 0, specialUse: null, selectable: false };
}
