// Types shared by the session, the registry and the handlers: the session
// state union, what a handler receives and what it returns.

import type { Authenticator } from '../auth/types.js';
import type { PetrelConfig } from '../config/types.js';
import type { BlobStore, Directory, EventBus, IngestPipeline, MailStore } from '../mail/ports.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { Account, MailboxInfo } from '../mail/types.js';
import type { Command, CommandName } from '../protocol/imap/ast.js';
import type { ResponseCode, Status } from '../protocol/imap/response.js';
import type { Logger } from '../util/log.js';
import type { Session } from './session.js';
import type { ExistingRef } from './mailbox-access.js';
import type { MailboxView } from './view.js';

export interface ImapServerDeps {
  config: PetrelConfig;
  directory: Directory;
  /** Every repository this server may reach; a session works in its account's. */
  repositories: Repositories;
  /** This server's sessions listen here: every repository's changes arrive on it. */
  events: EventBus;
  auth: Authenticator;
  logger: Logger;
}

/**
 * What a handler works with: the server's deps plus the session's repository
 * (the account's, from login on; the default one before, when no handler
 * touches storage).
 */
export interface SessionDeps extends ImapServerDeps {
  repository: Repository;
  store: MailStore;
  blobs: BlobStore;
  ingest: IngestPipeline;
}

export interface SelectedMailbox {
  mailbox: MailboxInfo;
  readOnly: boolean;
  view: MailboxView;
  /** Where the mailbox lives, whose it is, and the user's rights on it (RFC 4314). */
  ref: ExistingRef;
}

/** RFC 9051 3: the connection states, each carrying what it needs. */
export type SessionState =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; account: Account }
  | ({ kind: 'selected'; account: Account } & SelectedMailbox)
  | { kind: 'logout' };

export type StateKind = SessionState['kind'];

/** What the connection does after the tagged response is written. */
export type AfterAction = 'starttls' | 'logout' | 'compress';

/** The tagged completion of a command. */
export interface TaggedResult {
  status: Status;
  code?: ResponseCode;
  text: string;
  after?: AfterAction;
}

export type CommandOf<N extends CommandName> = Extract<Command, { name: N }>;

export interface HandlerContext<C extends Command = Command> {
  readonly tag: string;
  readonly command: C;
  readonly session: Session;
  readonly deps: SessionDeps;
}

export type Handler<C extends Command = Command> = (ctx: HandlerContext<C>) => Promise<TaggedResult>;

export const ok = (text: string, code?: ResponseCode): TaggedResult => (code ? { status: 'OK', code, text } : { status: 'OK', text });
export const no = (text: string, code?: ResponseCode): TaggedResult => (code ? { status: 'NO', code, text } : { status: 'NO', text });
export const bad = (text: string, code?: ResponseCode): TaggedResult => (code ? { status: 'BAD', code, text } : { status: 'BAD', text });

/** Thrown by handlers for a tagged BAD/NO that is not a storage error. */
export class CommandError extends Error {
  constructor(readonly result: TaggedResult) {
    super(result.text);
  }
}
