// Every admin command, declared once. Handlers use the ports (Directory,
// MailStore, IngestPipeline, EventBus) only: never SQL, never the terminal.

import { join } from 'node:path';
import { hashPassword } from '../auth/password.js';
import { formatListen, redactUrl } from '../config/values.js';
import { SHARED_OWNER } from '../mail/acl.js';
import { isMailError } from '../mail/errors.js';
import { storageUnits } from '../mail/quota.js';
import { accountRepository, requireAccount } from './account-repository.js';
import type { SpecialUse } from '../mail/types.js';
import { createSelfSigned } from './cert.js';
import { importMaildir } from './import.js';
import { repoAdd, repoList, repoReplicas, repoStatus } from './repositories.js';
import { userMove } from './user-move.js';
import { sharedAcl, sharedCreate, sharedDelete, sharedList } from './shared.js';
import { formatKiB, parseMessageLimit, parseStorageLimit } from './quota.js';
import { userAddMany } from './users-batch.js';
import { checkAccountName, checkPassword, createUser } from './user-create.js';
import { AdminError, defineCommand, EXIT, type AdminCommand, type AdminContext } from './types.js';

const SPECIAL_USES: readonly SpecialUse[] = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

/** Turns storage errors into one-line admin errors with a fitting exit status. */
export function adminErrorFrom(err: unknown, what: string): AdminError {
  if (err instanceof AdminError) return err;
  if (isMailError(err)) {
    switch (err.code) {
      case 'UNAVAILABLE':
        return new AdminError(`${what}: storage temporarily unavailable (${err.message})`, EXIT.TEMPFAIL);
      case 'TOO_BIG':
        return new AdminError(`${what}: ${err.message}`, EXIT.DATAERR);
      case 'OVER_QUOTA':
        return new AdminError(`${what}: ${err.message}`, EXIT.TEMPFAIL);
      default:
        return new AdminError(`${what}: ${err.message}`, EXIT.FAILURE);
    }
  }
  return new AdminError(`${what}: ${err instanceof Error ? err.message : String(err)}`, EXIT.SOFTWARE);
}

async function password(ctx: AdminContext, given: string | undefined): Promise<string> {
  const value = given ?? (await ctx.readNewPassword());
  checkPassword(value);
  return value;
}

const userAdd = defineCommand({
  name: ['user', 'add'],
  summary: 'create a user (password from --password, a prompt, or one line of stdin)',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'password', type: 'string', description: 'password (avoid on shared machines: visible in ps)' },
    { name: 'repo', type: 'string', description: 'repository holding the mailboxes (cluster; default: the default repository)' },
  ] as const,
  async run(ctx, p) {
    checkAccountName(p.name);
    const repos = await ctx.repositories();
    if (await repos.directory.findAccount(p.name)) throw new AdminError(`user ${JSON.stringify(p.name)} already exists`);
    // Reach the repository before creating the account: an unknown or unreachable one fails here.
    const repo = await repos.byName(p.repo ?? repos.primary.name).catch((err: unknown) => {
      if (isMailError(err, 'NOT_FOUND')) throw new AdminError(`no repository named ${JSON.stringify(p.repo)} (see petrel repo list)`, EXIT.USAGE);
      throw err;
    });
    const hash = await hashPassword(await password(ctx, p.password));
    try {
      await createUser(ctx, repos, repo, p.name, hash);
    } catch (err) {
      if (isMailError(err, 'ALREADY_EXISTS')) throw new AdminError(`user ${JSON.stringify(p.name)} already exists`);
      throw err;
    }
    return { kind: 'message', text: `user ${p.name} created` };
  },
});

const userPasswd = defineCommand({
  name: ['user', 'passwd'],
  summary: "change a user's password",
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'password', type: 'string', description: 'new password' },
  ] as const,
  async run(ctx, p) {
    const repos = await ctx.repositories();
    await requireAccount(repos, p.name);
    await repos.directory.setPassword(p.name, await hashPassword(await password(ctx, p.password)));
    ctx.events.publish({ kind: 'account-changed', accountName: p.name });
    return { kind: 'message', text: `password of ${p.name} changed` };
  },
});

const userDelete = defineCommand({
  name: ['user', 'delete'],
  summary: 'delete a user and all its mail',
  params: [{ name: 'name', type: 'string', positional: true, required: true, description: 'user name' }] as const,
  async run(ctx, p) {
    const repos = await ctx.repositories();
    await repos.deleteAccount(await requireAccount(repos, p.name));
    ctx.events.publish({ kind: 'account-changed', accountName: p.name });
    return { kind: 'message', text: `user ${p.name} deleted` };
  },
});

function setDisabledCommand(disabled: boolean): AdminCommand {
  return defineCommand({
    name: ['user', disabled ? 'disable' : 'enable'],
    summary: disabled ? 'refuse logins of a user (mail is still delivered)' : 'allow logins of a disabled user again',
    params: [{ name: 'name', type: 'string', positional: true, required: true, description: 'user name' }] as const,
    async run(ctx, p) {
      const repos = await ctx.repositories();
      await requireAccount(repos, p.name);
      await repos.directory.setDisabled(p.name, disabled);
      ctx.events.publish({ kind: 'account-changed', accountName: p.name });
      return { kind: 'message', text: `user ${p.name} ${disabled ? 'disabled' : 'enabled'}` };
    },
  });
}

const userList = defineCommand({
  name: ['user', 'list'],
  summary: 'list users',
  params: [] as const,
  async run(ctx) {
    const repos = await ctx.repositories();
    // The owner of the shared mailboxes is no user (petrel shared list shows them).
    const accounts = (await repos.directory.listAccounts()).filter((a) => a.name !== SHARED_OWNER);
    return {
      kind: 'table',
      columns: [
        { key: 'name', header: 'NAME' },
        { key: 'disabled', header: 'DISABLED' },
        { key: 'repository', header: 'REPOSITORY' },
        { key: 'createdAt', header: 'CREATED' },
      ],
      rows: accounts.map((a) => ({ name: a.name, disabled: a.disabled, repository: a.repository, createdAt: a.createdAt.toISOString() })),
    };
  },
});

const userQuota = defineCommand({
  name: ['user', 'quota'],
  summary: 'show or set a user\'s quota (RFC 9208 STORAGE and MESSAGE); "none" removes a limit',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'storage', type: 'string', description: 'storage limit: 500M, 2G, ... (octets, K/M/G/T binary) or none' },
    { name: 'messages', type: 'string', description: 'message count limit, or none' },
  ] as const,
  async run(ctx, p) {
    const { account, repo, repos } = await accountRepository(ctx, p.name);
    let limits = await repos.directory.getQuota(p.name);
    if (p.storage !== undefined || p.messages !== undefined) {
      limits = {
        storage: p.storage !== undefined ? parseStorageLimit(p.storage) : limits.storage,
        messages: p.messages !== undefined ? parseMessageLimit(p.messages) : limits.messages,
      };
      await repos.setQuota(account, limits);
    }
    const usage = await repo.store.quotaUsage(account.id);
    const usedKiB = storageUnits(usage.storageBytes);
    return {
      kind: 'table',
      columns: [
        { key: 'resource', header: 'RESOURCE' },
        { key: 'usage', header: 'USAGE' },
        { key: 'limit', header: 'LIMIT' },
        { key: 'human', header: 'READABLE' },
      ],
      rows: [
        {
          resource: 'STORAGE',
          usage: usedKiB,
          limit: limits.storage,
          human: `${formatKiB(usedKiB)} of ${limits.storage === null ? 'unlimited' : formatKiB(limits.storage)}`,
        },
        {
          resource: 'MESSAGE',
          usage: usage.messages,
          limit: limits.messages,
          human: `${usage.messages} of ${limits.messages === null ? 'unlimited' : limits.messages} messages`,
        },
      ],
    };
  },
});

const mailboxList = defineCommand({
  name: ['mailbox', 'list'],
  summary: "list a user's mailboxes with message counts",
  params: [{ name: 'user', type: 'string', positional: true, required: true, description: 'user name' }] as const,
  async run(ctx, p) {
    const { account, repo } = await accountRepository(ctx, p.user);
    const mailboxes = await repo.store.listMailboxes(account.id);
    const rows = [];
    for (const m of mailboxes) {
      const counts = m.selectable ? await repo.store.counts(m.id) : null;
      rows.push({
        name: m.name,
        specialUse: m.specialUse,
        selectable: m.selectable,
        messages: counts?.messages ?? 0,
        unseen: counts?.unseen ?? 0,
        size: counts?.size ?? 0,
        uidValidity: m.uidValidity,
        uidNext: m.uidNext,
      });
    }
    return {
      kind: 'table',
      columns: [
        { key: 'name', header: 'NAME' },
        { key: 'specialUse', header: 'SPECIAL-USE' },
        { key: 'messages', header: 'MESSAGES' },
        { key: 'unseen', header: 'UNSEEN' },
        { key: 'size', header: 'SIZE' },
        { key: 'uidValidity', header: 'UIDVALIDITY' },
        { key: 'uidNext', header: 'UIDNEXT' },
      ],
      rows,
    };
  },
});

const mailboxCreate = defineCommand({
  name: ['mailbox', 'create'],
  summary: 'create a mailbox (and missing parents) for a user',
  params: [
    { name: 'user', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'mailbox', type: 'string', positional: true, required: true, description: 'mailbox name, "/"-separated' },
    { name: 'special-use', type: 'string', description: 'special-use attribute, e.g. \\Sent' },
  ] as const,
  async run(ctx, p) {
    const specialUse = p['special-use'] ?? null;
    if (specialUse !== null && !SPECIAL_USES.includes(specialUse as SpecialUse)) {
      throw new AdminError(`invalid --special-use ${JSON.stringify(specialUse)}: expected one of ${SPECIAL_USES.join(', ')}`, EXIT.USAGE);
    }
    const { account, repo } = await accountRepository(ctx, p.user);
    try {
      await repo.store.createMailbox(account.id, p.mailbox, { specialUse: specialUse as SpecialUse | null });
    } catch (err) {
      if (isMailError(err, 'ALREADY_EXISTS')) throw new AdminError(`mailbox ${JSON.stringify(p.mailbox)} already exists`);
      throw err;
    }
    repo.events.publish({ kind: 'mailboxes-changed', repository: repo.name, accountId: account.id });
    return { kind: 'message', text: `mailbox ${p.mailbox} created for ${p.user}` };
  },
});

const mailboxDelete = defineCommand({
  name: ['mailbox', 'delete'],
  summary: 'delete a mailbox of a user (its messages are expunged)',
  params: [
    { name: 'user', type: 'string', positional: true, required: true, description: 'user name' },
    { name: 'mailbox', type: 'string', positional: true, required: true, description: 'mailbox name' },
  ] as const,
  async run(ctx, p) {
    const { account, repo } = await accountRepository(ctx, p.user);
    try {
      await repo.store.deleteMailbox(account.id, p.mailbox);
    } catch (err) {
      if (isMailError(err, 'NOT_FOUND')) throw new AdminError(`no mailbox ${JSON.stringify(p.mailbox)} for ${p.user}`);
      throw err;
    }
    repo.events.publish({ kind: 'mailboxes-changed', repository: repo.name, accountId: account.id });
    return { kind: 'message', text: `mailbox ${p.mailbox} deleted for ${p.user}` };
  },
});

const deliver = defineCommand({
  name: ['deliver'],
  summary: 'deliver a message from stdin (local delivery agent; exit 75 = try again, 67 = no such user)',
  params: [
    { name: 'user', type: 'string', positional: true, required: true, description: 'recipient user name' },
    { name: 'mailbox', type: 'string', description: 'target mailbox (INBOX when absent or missing)' },
  ] as const,
  async run(ctx, p) {
    const { account, repo } = await accountRepository(ctx, p.user);
    let target = 'INBOX';
    if (p.mailbox !== undefined) {
      const mailbox = await repo.store.getMailbox(account.id, p.mailbox);
      // As Dovecot's LDA does: a missing target falls back to INBOX rather than bouncing.
      if (mailbox?.selectable) target = mailbox.name;
      else ctx.warn(`mailbox ${JSON.stringify(p.mailbox)} does not exist; delivering to INBOX`);
    }
    const result = await repo.ingest.deliver(account.id, target, ctx.input(), { maxSize: ctx.config.limits.maxMessageSize });
    repo.events.publish({
      kind: 'mailbox-changed',
      repository: repo.name,
      accountId: account.id,
      mailboxId: result.mailbox.id,
      modseq: result.highestModseq,
    });
    return { kind: 'message', text: `delivered to ${p.user}/${result.mailbox.name} uid ${result.uids[0]}` };
  },
});

const configCheck = defineCommand({
  name: ['config', 'check'],
  summary: 'validate the configuration (file and environment) and show the effective listeners',
  params: [] as const,
  async run(ctx) {
    // Loading already validated everything; reaching this point means it is fine.
    const c = ctx.config;
    const lines = [
      'config ok',
      `  file: ${ctx.configFile ?? '(none: defaults and environment)'}`,
      `  data_dir: ${c.dataDir}`,
      `  imap.listen: ${formatListen(c.imap.listen)}  imap.tls_listen: ${formatListen(c.imap.tlsListen)}  lmtp.listen: ${formatListen(c.lmtp.listen)}`,
      `  tls: ${c.tls.certFile ? 'configured' : 'not configured'}  allow_plaintext_auth: ${c.imap.allowPlaintextAuth}`,
      c.storage.backend === 'postgres'
        ? `  storage: postgres ${redactUrl(c.storage.postgresUrl ?? '')}  blob_store: ${c.storage.blobStore}  auto_migrate: ${c.storage.autoMigrate}`
        : `  storage: sqlite  blob_store: ${c.storage.blobStore}`,
      ...(c.storage.backend === 'postgres' && c.storage.postgresReplicaUrls.length > 0
        ? [`  read replicas: ${c.storage.postgresReplicaUrls.map((u) => redactUrl(u)).join(' ')}  max lag: ${c.storage.replicaMaxLagSeconds} s`]
        : []),
      `  metrics.listen: ${formatListen(c.metrics.listen)}`,
    ];
    return { kind: 'message', text: lines.join('\n') };
  },
});

const certSelfSigned = defineCommand({
  name: ['cert', 'self-signed'],
  summary: 'write a self-signed cert.pem and key.pem for development (uses openssl)',
  params: [
    { name: 'out', type: 'string', description: 'output directory (default: <data_dir>/tls)' },
    { name: 'host', type: 'string', description: 'host name in the certificate (default: hostname setting)' },
  ] as const,
  async run(ctx, p) {
    const outDir = p.out ?? join(ctx.config.dataDir, 'tls');
    const { certFile, keyFile } = await createSelfSigned(outDir, p.host ?? ctx.config.hostname);
    return {
      kind: 'message',
      text: [
        `wrote ${certFile} and ${keyFile}`,
        `use them with PETREL_TLS_CERT=${certFile} PETREL_TLS_KEY=${keyFile} (or tls.cert_file / tls.key_file)`,
      ].join('\n'),
    };
  },
});

const check = defineCommand({
  name: ['check'],
  summary: 'check the repository: database integrity, and that every stored message has its blob',
  params: [] as const,
  async run(ctx) {
    const repos = await ctx.repositories();
    const problems = await repos.primary.store.integrityCheck();
    let messages = 0;
    const checked = new Set<string>([repos.primary.name]);
    for (const account of await repos.directory.listAccounts()) {
      const repo = await repos.forAccount(account);
      if (!checked.has(repo.name)) {
        checked.add(repo.name);
        for (const problem of await repo.store.integrityCheck()) problems.push(`repository ${repo.name}: ${problem}`);
      }
      for (const mailbox of await repo.store.listMailboxes(account.id)) {
        const uids = await repo.store.listUids(mailbox.id);
        if (uids.length === 0) continue;
        for (const meta of await repo.store.fetchMessages(mailbox.id, [{ start: 1, end: Infinity }])) {
          if (meta.expungedModseq !== null) continue;
          messages++;
          if (!(await repo.blobs.has(meta.blobId))) {
            problems.push(`${account.name}/${mailbox.name} uid ${meta.uid}: blob ${meta.blobId} is missing`);
          }
        }
      }
    }
    if (problems.length > 0) {
      throw new AdminError(`check: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`, EXIT.FAILURE);
    }
    return { kind: 'message', text: `checked ${messages} messages: no problems found` };
  },
});

const dbMigrate = defineCommand({
  name: ['db', 'migrate'],
  summary: 'bring the database schema up to this Petrel (PostgreSQL: run once after an upgrade, before the servers)',
  params: [] as const,
  async run(ctx) {
    const versions = await ctx.migrateSchema();
    return {
      kind: 'table',
      columns: [
        { key: 'component', header: 'COMPONENT' },
        { key: 'before', header: 'BEFORE' },
        { key: 'version', header: 'VERSION' },
      ],
      rows: versions.map((v) => ({ component: v.component, before: v.before, version: v.current })),
    };
  },
});

export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  userAdd,
  userPasswd,
  userDelete,
  userMove,
  userList,
  setDisabledCommand(true),
  setDisabledCommand(false),
  userQuota,
  mailboxList,
  mailboxCreate,
  mailboxDelete,
  deliver,
  configCheck,
  certSelfSigned,
  check,
  dbMigrate,
  importMaildir,
  repoAdd,
  repoList,
  repoReplicas,
  repoStatus,
  sharedCreate,
  sharedList,
  sharedAcl,
  sharedDelete,
  userAddMany,
];

