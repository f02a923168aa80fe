// The cluster's repository registry: the default repository is open from the
// start; every other one is looked up in the directory and opened on first
// use (one pool, blob store and event bus per repository per server), then
// kept. A failed open is not cached, so a repository that was down is tried
// again by the next session that needs it.

import { MailError, isMailError } from '../mail/errors.js';
import type { Directory, RepositoryEntry } from '../mail/ports.js';
import { AccountKeepingRepositories, type Repository } from '../mail/repository.js';

type Closable = Repository & { close(): Promise<void> };

/** How long the registry read from the directory serves all() and byName() (see entries()). */
const REGISTRY_TTL_MS = 5000;

export class RepositoryRegistry extends AccountKeepingRepositories {
  readonly multiRepository = true;
  private readonly opening = new Map<string, Promise<Closable>>();
  private readonly open = new Map<string, Closable>();
  private registry: { at: number; list: Promise<RepositoryEntry[]> } | null = null;
  private closed = false;

  constructor(
    readonly directory: Directory,
    readonly primary: Closable,
    private readonly openEntry: (entry: RepositoryEntry) => Promise<Closable>,
  ) {
    super();
    this.open.set(primary.name, primary);
  }

  async byName(name: string): Promise<Repository> {
    const ready = this.open.get(name);
    if (ready) return ready;
    if (this.closed) throw new MailError('UNAVAILABLE', 'server is shutting down');
    let pending = this.opening.get(name);
    if (!pending) {
      pending = this.openByName(name);
      this.opening.set(name, pending);
      pending.then(
        (repo) => {
          this.opening.delete(name);
          if (this.closed) void repo.close();
          else this.open.set(name, repo);
        },
        () => this.opening.delete(name),
      );
    }
    return pending;
  }

  /**
   * The directory's registry, read at most every REGISTRY_TTL_MS: LIST and
   * NOTIFY walk every repository (all()), and repositories are only ever
   * added. A name not found is looked up again at once.
   */
  private async entries(fresh = false): Promise<RepositoryEntry[]> {
    const now = Date.now();
    if (fresh || !this.registry || now - this.registry.at > REGISTRY_TTL_MS) {
      const list = this.directory.listRepositories();
      this.registry = { at: now, list };
      list.catch(() => {
        if (this.registry?.list === list) this.registry = null; // not cached when it failed
      });
    }
    return this.registry.list;
  }

  private async openByName(name: string): Promise<Closable> {
    const find = (entries: RepositoryEntry[]) => entries.find((e) => e.name === name);
    const entry = find(await this.entries()) ?? find(await this.entries(true));
    if (!entry) throw new MailError('NOT_FOUND', `no repository named ${JSON.stringify(name)}`);
    try {
      return await this.openEntry(entry);
    } catch (err) {
      if (isMailError(err)) throw err;
      throw new MailError('UNAVAILABLE', `repository ${name} cannot be opened: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async all(): Promise<Repository[]> {
    const out: Repository[] = [this.primary];
    for (const entry of await this.entries()) {
      try {
        out.push(await this.byName(entry.name));
      } catch (err) {
        // A repository that is down hides its mailboxes for now; the rest still answer.
        if (!isMailError(err, 'UNAVAILABLE')) throw err;
      }
    }
    return out;
  }

  opened(): Repository[] {
    return [...this.open.values()];
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.opening.values()]);
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((r) => r.close()));
  }
}
