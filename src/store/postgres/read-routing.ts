// How a PostgresMailStore (and the PostgreSQL blob store) reach read replicas:
// a router the cluster layer provides (src/cluster/replicas.ts), and the
// floor of one reader. The store only says what kind of read it does.

import type { AccountId } from '../../mail/types.js';
import type { Pg } from './pg.js';

/** A WAL position ("16/B374D848") as a number: 64 bits, so bigint. */
export type Lsn = bigint;

/**
 * The replay position a replica must have reached to serve one reader's
 * metadata reads. `stale` until the reader's last write or change event is
 * covered by `lsn`; generations keep a floor stale when a primary read that
 * began before a later write settles it.
 */
export class ReadFloor {
  lsn: Lsn = 0n;
  private generation = 1;
  private settledGeneration = 0;

  get stale(): boolean {
    return this.settledGeneration !== this.generation;
  }

  /** A write or change the reader must see from now on. */
  markStale(): void {
    this.generation++;
  }

  /** The generation a primary read starts at: pass it to settle(). */
  begin(): number {
    return this.generation;
  }

  /** A primary read begun at `generation` finished, and the primary's WAL was then at `lsn`. */
  settle(generation: number, lsn: Lsn): void {
    if (lsn > this.lsn) this.lsn = lsn;
    if (generation === this.generation) this.settledGeneration = generation;
  }
}

export interface ReadRouter {
  /** The floor of one account's readers on this server. */
  floorFor(accountId: AccountId): ReadFloor;
  /** Mutable metadata: a replica that has replayed the floor, else the primary (which then raises the floor). */
  readMetadata<T>(floor: ReadFloor, fn: (sql: Pg) => Promise<T>): Promise<T>;
  /** Immutable data: any replica in rotation; the primary when none, or when `missing` says the replica lacks it. */
  readImmutable<T>(fn: (sql: Pg) => Promise<T>, missing: (value: T) => boolean): Promise<T>;
}
