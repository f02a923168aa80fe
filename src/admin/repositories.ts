// `petrel repo add|list|replicas|status`: the registry of repositories in the
// directory (cluster mode), their read replicas, and their health. A new repository's database must exist; its schema is
// created here, so users can be put on it at once (`petrel user add --repo`).

import { redactUrl } from '../config/values.js';
import { isMailError } from '../mail/errors.js';
import { DEFAULT_REPOSITORY, type Repository } from '../mail/repository.js';
import { AdminError, defineCommand, EXIT, type Cell } from './types.js';

export const repoAdd = defineCommand({
  name: ['repo', 'add'],
  summary: 'register a repository (cluster): a PostgreSQL database for the mailboxes of some users; creates its schema',
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'repository name (letters, digits, . _ -)' },
    { name: 'url', type: 'string', positional: true, required: true, description: 'postgres:// URL, may list several hosts' },
  ] as const,
  async run(ctx, p) {
    const repos = await ctx.repositories();
    if (!repos.multiRepository) {
      throw new AdminError('repositories can be added in cluster mode only (storage.backend = "postgres")', EXIT.USAGE);
    }
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
        { key: 'replicas', header: 'REPLICAS' },
      ],
      rows: [
        { name: DEFAULT_REPOSITORY, users: users.get(DEFAULT_REPOSITORY) ?? 0, url: defaultUrl, replicas: replicaList(ctx.config.storage.postgresReplicaUrls) },
        ...entries.map((e) => ({ name: e.name, users: users.get(e.name) ?? 0, url: redactUrl(e.url), replicas: replicaList(e.replicas ?? []) })),
      ],
    };
  },
});

export const repoReplicas = defineCommand({
  name: ['repo', 'replicas'],
  summary: "set a registered repository's read replicas (the default repository's are storage.postgres_replica_urls)",
  params: [
    { name: 'name', type: 'string', positional: true, required: true, description: 'repository name' },
    { name: 'urls', type: 'string', positional: true, description: 'postgres:// URLs of its streaming replicas, separated by spaces; none to clear' },
  ] as const,
  async run(ctx, p) {
    if (p.name === DEFAULT_REPOSITORY)
      throw new AdminError(`the ${DEFAULT_REPOSITORY} repository's replicas are set in the config: storage.postgres_replica_urls`, EXIT.USAGE);
    const urls = (p.urls ?? '').split(/\s+/).filter((u) => u !== '');
    const repos = await ctx.repositories();
    try {
      await repos.directory.setRepositoryReplicas(p.name, urls);
    } catch (err) {
      if (isMailError(err, 'INVALID_NAME')) throw new AdminError(err.message, EXIT.USAGE);
      if (isMailError(err, 'NOT_FOUND')) throw new AdminError(err.message, EXIT.NOUSER);
      throw err;
    }
    const what = urls.length === 0 ? 'no read replicas' : `${urls.length} read replica${urls.length > 1 ? 's' : ''}`;
    return { kind: 'message', text: `repository ${p.name}: ${what}; servers use them once they open the repository again (restart)` };
  },
});

export const repoStatus = defineCommand({
  name: ['repo', 'status'],
  summary: "each repository's primary, the standbys streaming from it, and its read replicas with their lag and health",
  params: [] as const,
  async run(ctx) {
    const repos = await ctx.repositories();
    const rows: Array<Record<string, Cell>> = [];
    const names = [DEFAULT_REPOSITORY, ...(await repos.directory.listRepositories()).map((e) => e.name)];
    for (const name of names) {
      let repo: Repository;
      try {
        repo = await repos.byName(name);
      } catch (err) {
        rows.push({ repository: name, role: 'primary', node: '-', state: `unavailable: ${errorText(err)}`, lag: null, detail: '' });
        continue;
      }
      const report = repo.replicas;
      if (!report) {
        rows.push({ repository: name, role: 'primary', node: `sqlite:${ctx.config.dataDir}`, state: 'embedded', lag: null, detail: '' });
        continue;
      }
      try {
        const primary = await report.primary();
        rows.push({ repository: name, role: 'primary', node: primary.server, state: 'up', lag: null, detail: `wal ${primary.walLsn}` });
        for (const s of primary.standbys)
          rows.push({
            repository: name,
            role: 'standby',
            node: `${s.name}@${s.client}`,
            state: `${s.state}, ${s.syncState}`,
            lag: s.replayLagSeconds === null ? 0 : round(s.replayLagSeconds),
            detail: 'pg_stat_replication',
          });
      } catch (err) {
        rows.push({ repository: name, role: 'primary', node: '-', state: `unavailable: ${errorText(err)}`, lag: null, detail: '' });
      }
      await report.check();
      for (const r of report.status())
        rows.push({
          repository: name,
          role: 'replica',
          node: r.url,
          state: r.inRotation ? 'in rotation' : `out: ${r.problem}`,
          lag: r.lagSeconds === null ? null : round(r.lagSeconds),
          detail: r.replayLsn === null ? '' : `replayed ${r.replayLsn}, ${r.lagBytes ?? '?'} bytes behind`,
        });
    }
    return {
      kind: 'table',
      columns: [
        { key: 'repository', header: 'REPOSITORY' },
        { key: 'role', header: 'ROLE' },
        { key: 'node', header: 'NODE' },
        { key: 'state', header: 'STATE' },
        { key: 'lag', header: 'LAG_S' },
        { key: 'detail', header: 'DETAIL' },
      ],
      rows,
    };
  },
});

const replicaList = (urls: readonly string[]): string => urls.map((u) => redactUrl(u)).join(' ');
const round = (seconds: number): number => Math.round(seconds * 1000) / 1000;
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
