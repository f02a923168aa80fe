// Rules of the repository registry shared by both directory backends.

import { MailError } from '../../mail/errors.js';
import type { RepositoryEntry } from '../../mail/ports.js';
import { DEFAULT_REPOSITORY } from '../../mail/repository.js';

/** Repository names appear in config, CLI output and events: keep them plain. */
export function validateRepositoryEntry(entry: RepositoryEntry): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(entry.name))
    throw new MailError('INVALID_NAME', `invalid repository name ${JSON.stringify(entry.name)} (letters, digits, . _ -)`);
  if (entry.name === DEFAULT_REPOSITORY)
    throw new MailError('INVALID_NAME', `"${DEFAULT_REPOSITORY}" is the repository the config names; it is not registered`);
  if (!/^postgres(ql)?:\/\//.test(entry.url))
    throw new MailError('INVALID_NAME', 'a repository URL must be a postgres:// URL');
  validateReplicaUrls(entry.replicas ?? []);
}

/** Replica URLs are stored space-separated: each a postgres:// URL without spaces. */
export function validateReplicaUrls(urls: readonly string[]): void {
  for (const url of urls)
    if (!/^postgres(ql)?:\/\/\S+$/.test(url))
      throw new MailError('INVALID_NAME', `a replica URL must be a postgres:// URL without spaces, got ${JSON.stringify(url)}`);
}

export const joinReplicaUrls = (urls: readonly string[] | undefined): string => (urls ?? []).join(' ');

export interface RepositoryRow {
  name: string;
  url: string;
  replica_urls: string;
}

export const REPOSITORY_COLUMNS = 'name, url, replica_urls';

export const toRepositoryEntry = (r: RepositoryRow): RepositoryEntry => ({
  name: r.name,
  url: r.url,
  replicas: r.replica_urls.split(' ').filter((u) => u !== ''),
});
