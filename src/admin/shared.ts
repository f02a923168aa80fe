// `petrel shared create|list|acl|delete`: shared mailboxes ("Shared/..." in
// IMAP), owned by no user and reached only through their ACL (RFC 4314).
// They belong to the directory account SHARED_OWNER, created on first use in
// the repository storage.shared_repository names.

import { AclSyntaxError, modifyRights, prepareAclIdentifier, SHARED_OWNER, validIdentifier } from '../mail/acl.js';
import { isMailError } from '../mail/errors.js';
import { publishRightsChanged } from '../mail/events.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { Account } from '../mail/types.js';
import { AdminError, defineCommand, EXIT, type AdminContext } from './types.js';

/** The owner of the shared mailboxes and its repository; created when `create` is true. */
async function sharedOwner(ctx: AdminContext, create: boolean): Promise<{ owner: Account; repo: Repository; repos: Repositories } | null> {
  const repos = await ctx.repositories();
  let owner = await repos.directory.findAccount(SHARED_OWNER);
  if (!owner) {
    if (!create) return null;
    const repo = await repos.byName(ctx.config.storage.sharedRepository).catch((err: unknown) => {
      if (isMailError(err, 'NOT_FOUND')) {
        throw new AdminError(`storage.shared_repository names no repository: ${JSON.stringify(ctx.config.storage.sharedRepository)}`, EXIT.USAGE);
      }
      throw err;
    });
    try {
      // "!" is no password hash: nobody can log in as the owner.
      owner = await repos.createAccount(SHARED_OWNER, '!', repo);
    } catch (err) {
      if (!isMailError(err, 'ALREADY_EXISTS')) throw err;
      owner = (await repos.directory.findAccount(SHARED_OWNER))!;
      await repos.adoptAccount(owner, repo);
    }
    await repos.directory.setDisabled(SHARED_OWNER, true);
  }
  return { owner, repo: await repos.forAccount(owner), repos };
}

/** "anyone=lr,bob=lrswi" -> entries; BAD input is a usage error. */
function parseAclOption(text: string): Array<{ identifier: string; rights: string }> {
  const out: Array<{ identifier: string; rights: string }> = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const eq = part.lastIndexOf('=');
    if (eq <= 0) throw new AdminError(`--acl: expected IDENTIFIER=RIGHTS, got ${JSON.stringify(part)}`, EXIT.USAGE);
    out.push({ identifier: preparedIdentifier(part.slice(0, eq)), rights: rightsOrUsage(part.slice(eq + 1), '') });
  }
  return out;
}

function rightsOrUsage(modification: string, current: string): string {
  try {
    return modifyRights(current, modification);
  } catch (err) {
    if (err instanceof AclSyntaxError) throw new AdminError(`invalid rights ${JSON.stringify(modification)}: ${err.message}`, EXIT.USAGE);
    throw err;
  }
}

/** SASLprep-prepared, as IMAP SETACL stores it (RFC 4314 3). */
function preparedIdentifier(identifier: string): string {
  const prepared = prepareAclIdentifier(identifier);
  if (prepared === null || !validIdentifier(prepared)) throw new AdminError(`invalid identifier ${JSON.stringify(identifier)}`, EXIT.USAGE);
  return prepared;
}

/** The owner's mailbox list changed; with `identifiers`, also their rights (NOTIFY sessions of those users look again). */
function changed(repo: Repository, owner: Account, identifiers: string[] = []): void {
  repo.events.publish({ kind: 'mailboxes-changed', repository: repo.name, accountId: owner.id });
  for (const identifier of identifiers) publishRightsChanged(repo, owner.id, identifier);
}

export const sharedCreate = defineCommand({
  name: ['shared', 'create'],
  summary: 'create a shared mailbox (IMAP "Shared/NAME"), e.g. --acl "anyone=lrs,bob=lrswipkxte"',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'mailbox name, "/"-separated' },
    { name: 'acl', type: 'string', description: 'initial ACL: IDENTIFIER=RIGHTS,... (identifiers: user names, anyone, authenticated)' },
  ] as const,
  async run(ctx, p) {
    const acl = parseAclOption(p.acl ?? '');
    const { owner, repo } = (await sharedOwner(ctx, true))!;
    let mailbox;
    try {
      mailbox = await repo.store.createMailbox(owner.id, p.name);
    } catch (err) {
      if (isMailError(err, 'ALREADY_EXISTS')) throw new AdminError(`shared mailbox ${JSON.stringify(p.name)} already exists`);
      if (isMailError(err, 'INVALID_NAME')) throw new AdminError(err.message, EXIT.USAGE);
      throw err;
    }
    for (const e of acl) if (e.rights !== '') await repo.store.setAcl(mailbox.id, e.identifier, e.rights);
    changed(repo, owner, acl.map((e) => e.identifier));
    return { kind: 'message', text: `shared mailbox Shared/${mailbox.name} created in repository ${repo.name}` };
  },
});

export const sharedList = defineCommand({
  name: ['shared', 'list'],
  summary: 'list the shared mailboxes with their ACLs',
  params: [] as const,
  async run(ctx) {
    const found = await sharedOwner(ctx, false);
    const rows = [];
    if (found) {
      for (const m of await found.repo.store.listMailboxes(found.owner.id)) {
        const acl = m.selectable ? await found.repo.store.getAcl(m.id) : [];
        rows.push({ name: m.name, acl: acl.map((e) => `${e.identifier}=${e.rights}`).join(','), repository: found.repo.name });
      }
    }
    return {
      kind: 'table',
      columns: [
        { key: 'name', header: 'NAME' },
        { key: 'acl', header: 'ACL' },
        { key: 'repository', header: 'REPOSITORY' },
      ],
      rows,
    };
  },
});

export const sharedAcl = defineCommand({
  name: ['shared', 'acl'],
  summary: 'change an entry of a shared mailbox\'s ACL: RIGHTS replaces, +RIGHTS adds, -RIGHTS removes, "" deletes',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'shared mailbox name' },
    { name: 'identifier', type: 'string', positional: true, required: true, description: 'user name, anyone or authenticated' },
    { name: 'rights', type: 'string', positional: true, required: true, description: 'rights (RFC 4314 letters lrswipkxtea)' },
  ] as const,
  async run(ctx, p) {
    const identifier = preparedIdentifier(p.identifier);
    const found = await sharedOwner(ctx, false);
    const mailbox = found ? await found.repo.store.getMailbox(found.owner.id, p.name) : null;
    if (!found || !mailbox?.selectable) throw new AdminError(`no shared mailbox ${JSON.stringify(p.name)}`);
    const current = (await found.repo.store.getAcl(mailbox.id)).find((e) => e.identifier === identifier)?.rights ?? '';
    const rights = rightsOrUsage(p.rights, current);
    await found.repo.store.setAcl(mailbox.id, identifier, rights === '' ? null : rights);
    changed(found.repo, found.owner, [identifier]);
    return { kind: 'message', text: `Shared/${mailbox.name}: ${identifier} ${rights === '' ? 'removed' : `has ${rights}`}` };
  },
});

export const sharedDelete = defineCommand({
  name: ['shared', 'delete'],
  summary: 'delete a shared mailbox and its messages',
  params: [{ name: 'name', type: 'string', positional: true, required: true, description: 'shared mailbox name' }] as const,
  async run(ctx, p) {
    const found = await sharedOwner(ctx, false);
    if (!found) throw new AdminError(`no shared mailbox ${JSON.stringify(p.name)}`);
    try {
      await found.repo.store.deleteMailbox(found.owner.id, p.name);
    } catch (err) {
      if (isMailError(err, 'NOT_FOUND')) throw new AdminError(`no shared mailbox ${JSON.stringify(p.name)}`);
      throw err;
    }
    changed(found.repo, found.owner);
    return { kind: 'message', text: `shared mailbox ${p.name} deleted` };
  },
});
