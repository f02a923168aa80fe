// Admin commands are data: a name, typed parameters, a handler that talks to
// ports only, and an output that each front end renders its own way (the CLI
// as a table or JSON; an HTTP API later as JSON).

import type { PetrelConfig } from '../config/types.js';
import type { EventBus } from '../mail/ports.js';
import type { Repositories } from '../mail/repository.js';

export interface ParamSpec {
  name: string;
  type: 'string' | 'boolean';
  /** Positional (in declaration order) or an --option. */
  positional?: boolean;
  required?: boolean;
  description: string;
}

/** The handler's view of the parsed parameters, typed from the declaration. */
export type ParamValues<S extends readonly ParamSpec[]> = {
  [P in S[number] as P['name']]: P['type'] extends 'boolean'
    ? boolean
    : P['required'] extends true
      ? string
      : string | undefined;
};

export interface Column {
  key: string;
  header: string;
}

export type Cell = string | number | boolean | null;

export type AdminOutput =
  | { kind: 'message'; text: string }
  | { kind: 'table'; columns: Column[]; rows: Array<Record<string, Cell>> };

export interface AdminContext {
  config: PetrelConfig;
  /** The config file in use, or null (defaults and environment only). */
  configFile: string | null;
  /**
   * Opens the directory and the default repository on first use (others
   * when a command needs them); commands that need no storage never open it.
   */
  repositories(): Promise<Repositories>;
  /** Directory change events (account-changed): the front end forwards them to the running servers. Mailbox changes go on their repository's bus. */
  events: EventBus;
  /** Optional: sends the events published on `events` so far to the servers now, not when the command ends (a long command mid-way). */
  sendEvents?(): Promise<void>;
  /** A new password when none was given as a parameter (prompt or stdin). */
  readNewPassword(): Promise<string>;
  /** The message for `deliver`. */
  input(): AsyncIterable<Buffer>;
  /** A non-fatal remark for the operator (stderr in the CLI). */
  warn(text: string): void;
  /** Brings the repository's database schema up to this Petrel's version; the versions before and after. */
  migrateSchema(): Promise<SchemaVersion[]>;
  /** Creates or upgrades the schema of a repository's database (cluster: a repository about to be registered). */
  migrateRepository(url: string): Promise<SchemaVersion[]>;
}

export interface SchemaVersion {
  /** Which tables: "mailstore", "blobstore" (PostgreSQL) or "sqlite". */
  component: string;
  /** Version before the command, or null when the backend does not say (SQLite migrates at every open). */
  before: number | null;
  current: number;
}

export interface AdminCommand<S extends readonly ParamSpec[] = readonly ParamSpec[]> {
  /** Words of the command: ['user', 'add']. */
  name: readonly string[];
  summary: string;
  params: S;
  run(ctx: AdminContext, params: ParamValues<S>): Promise<AdminOutput>;
}

/** Declares a command with its parameter types inferred from `params`. */
export function defineCommand<const S extends readonly ParamSpec[]>(command: AdminCommand<S>): AdminCommand {
  return command as unknown as AdminCommand;
}

/** sysexits.h codes used as the CLI's exit status, as sendmail-style LDAs do. */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 64,
  DATAERR: 65,
  NOUSER: 67,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  TEMPFAIL: 75,
} as const;

/** A failure to report as one line, with the exit status to use. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILURE,
  ) {
    super(message);
  }
}
