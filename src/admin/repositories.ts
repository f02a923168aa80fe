// `petrel repo add|list`: the registry of repositories in the directory
// (cluster mode). A new repository's database must exist; its schema is
// created here, so users can be put on it at once (`petrel user add --repo`).

import { redactUrl } from '../config/values.js';
import { isMailError } from '../mail/errors.js';
import { DEFAULT_REPOSITORY } from '../mail/repository.js';
import { AdminError, defineCommand, EXIT } from './types.js';

export const repoAdd = defineCommand({
  name: ['repo', 'add'],
  summary: 'register a repository (cluster): a PostgreSQL database for the mailboxes of some users; creates its schema',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'repository name (letters, digits, . _ -)' },
    { name: 'url', type: 'string', positional: true, required: true, description: 'postgres:// URL, may list several hosts' },
  ] as const,
  async run(ctx, p) {
    if (ctx.config.storage.backend !== 'postgres') {
      throw new AdminError('repositories can be added in cluster mode only (storage.backend = "postgres")', EXIT.USAGE);
    }
    const repos = await ctx.repositories();
    if ((await repos.directory.listRepositories()).some((e) => e.name === p.name) || p.name === DEFAULT_REPOSITORY) {
      throw new AdminError(`repository ${JSON.stringify(p.name)} already exists`);
    }
    // The schema first: a registered repository is usable by every server at once.
    await ctx.migrateRepository(p.url);
    try {
      await repos.directory.addRepository({ name: p.name, url: p.url });
    } catch (err) {
      if (isMailError(err, 'INVALID_NAME')) throw new AdminError(err.message, EXIT.USAGE);
      if (isMailError(err, 'ALREADY_EXISTS')) throw new AdminError(`repository ${JSON.stringify(p.name)} already exists`);
      throw err;
    }
    return { kind: 'message', text: `repository ${p.name} added (${redactUrl(p.url)})` };
  },
});

export const repoList = defineCommand({
  name: ['repo', 'list'],
  summary: 'list the repositories and how many users each holds',
  params: [] as const,
  async run(ctx) {
    const repos = await ctx.repositories();
    const entries = await repos.directory.listRepositories();
    const users = new Map<string, number>();
    for (const a of await repos.directory.listAccounts()) users.set(a.repository, (users.get(a.repository) ?? 0) + 1);
    const defaultUrl = ctx.config.storage.backend === 'postgres' ? redactUrl(ctx.config.storage.postgresUrl ?? '') : `sqlite:${ctx.config.dataDir}`;
    return {
      kind: 'table',
      columns: [
        { key: 'name', header: 'NAME' },
        { key: 'users', header: 'USERS' },
        { key: 'url', header: 'URL' },
      ],
      rows: [
        { name: DEFAULT_REPOSITORY, users: users.get(DEFAULT_REPOSITORY) ?? 0, url: defaultUrl },
        ...entries.map((e) => ({ name: e.name, users: users.get(e.name) ?? 0, url: redactUrl(e.url) })),
      ],
    };
  },
});
