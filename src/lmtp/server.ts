// LMTP delivery (RFC 2033) on smtp-server in LMTP mode. After DATA every
// recipient gets its own reply. The message is streamed into the ingest
// pipeline ONCE (staged: blob written and fsynced, indexed) in the first
// recipient's repository, copied from there into the blob store of any other
// repository a recipient lives in, then committed into each recipient's
// mailbox; a recipient's 250 is sent only after its commit. Nothing buffers
// the whole message.
//
// Return-Path: one "Return-Path: <sender>" line is prepended, shared by all
// recipients, so the staged bytes are identical for everyone and stored once
// (Delivered-To would differ per recipient and defeat that).
//
// Plaintext connections read their socket into pooled memory (pooled-feed.ts).

import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataResult, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { PetrelConfig } from '../config/types.js';
import { isFrozen } from '../mail/account-freeze.js';
import { isMailError, MailError } from '../mail/errors.js';
import type { Directory, MailStore, StagedMessage } from '../mail/ports.js';
import { copyStaged } from '../mail/transfer.js';
import type { Repositories, Repository } from '../mail/repository.js';
import type { MailboxInfo } from '../mail/types.js';
import type { Logger } from '../util/log.js';
import { chunksOf, releaseAsEmitted, useLinearDataPhase } from './data-phase.js';
import { accountMoving, deliveryFailure, LmtpReply, unknownUser } from './errors.js';
import type { SMTPConnection } from 'smtp-server/lib/smtp-connection.js';
import { chunkHoldsOf, usePooledReads } from './pooled-feed.js';
import { resolveRecipient, type ResolvedRecipient } from './recipient.js';

export interface LmtpServerDeps {
  config: PetrelConfig;
  directory: Directory;
  repositories: Repositories;
  logger: Logger;
}

/** How long close() lets connections finish before cutting them. */
const CLOSE_TIMEOUT_MS = 2000;

export class LmtpServer {
  private server: SMTPServer | null = null;
  private readonly log: Logger;
  /** The account each accepted RCPT TO resolved to (smtp-server keeps that address object in the envelope): DATA needs no second lookup. */
  private readonly resolvedAt = new WeakMap<SMTPServerAddress, ResolvedRecipient>();

  constructor(private readonly deps: LmtpServerDeps) {
    this.log = deps.logger.child({ service: 'lmtp' });
    if (!useLinearDataPhase()) this.log.debug('smtp-server is not the checked version: its own DATA parser is used');
  }

  async listen(): Promise<AddressInfo | null> {
    const address = this.deps.config.lmtp.listen;
    if (!address) return null;
    const server = new PooledSMTPServer({
      lmtp: true,
      name: this.deps.config.hostname,
      banner: 'Petrel ready',
      disableReverseLookup: true,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSTARTTLS: true,
      hideENHANCEDSTATUSCODES: false,
      size: this.deps.config.limits.maxMessageSize,
      rejectOversized: true,
      logger: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
      onRcptTo: (address, session, callback) => {
        this.checkRecipient(address).then(
          () => callback(),
          (err: unknown) => callback(err as Error),
        );
      },
      onData: (stream, session, callback) => {
        this.deliver(stream, session).then(
          (results) => callback(null, results),
          (err: unknown) => callback(err as Error),
        );
      },
    });
    server.on('error', (err) => this.log.error('lmtp server error', { err }));
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    return server.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async resolve(address: string): Promise<ResolvedRecipient | null> {
    return resolveRecipient(this.deps.directory, address, this.deps.config.lmtp.recipientDelimiter);
  }

  /** RCPT TO: refuse unknown users at once (550), directory trouble is temporary (451). */
  private async checkRecipient(address: SMTPServerAddress): Promise<void> {
    let found: ResolvedRecipient | null;
    try {
      found = await this.resolve(address.address);
    } catch (err) {
      this.log.error('recipient lookup failed', { rcpt: address.address, err });
      throw deliveryFailure(address.address, err);
    }
    if (!found) throw unknownUser(address.address);
    if (isFrozen(found.account)) throw accountMoving(address.address);
    this.resolvedAt.set(address, found);
  }

  /** DATA: stage once, then commit per recipient; returns one reply per recipient, in order. */
  private async deliver(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<SMTPServerDataResult[]> {
    const rcptTo = session.envelope.rcptTo;
    const recipients = rcptTo.map((r) => r.address);
    const mailFrom = session.envelope.mailFrom;
    const returnPath = Buffer.from(`Return-Path: <${mailFrom ? mailFrom.address : ''}>\r\n`, 'utf8');
    const targets = await Promise.all(rcptTo.map((r) => this.recipientTarget(r.address, this.resolvedAt.get(r))));
    const home = targets.find((t) => t.ok)?.repo ?? this.deps.repositories.primary;
    let staged: StagedMessage;
    try {
      // Stopping early (the ingest threw TOO_BIG) leaves the stream intact: smtp-server still has to read it to its end.
      staged = await home.ingest.stage(
        chunksOf(stream, returnPath, chunkHoldsOf(stream), home.blobs.writerCopiesChunks === true),
        this.deps.config.limits.maxMessageSize + returnPath.length,
        { pendingBody: true }, // stored by the first append (or by copyStaged for another repository)
      );
    } catch (err) {
      // Let smtp-server read the rest of the message so the connection stays
      // in sync, each piece's pooled block released as it comes (the ingest
      // may have failed before it read anything: then chunksOf never ran).
      const holds = chunkHoldsOf(stream);
      if (holds) releaseAsEmitted(stream, holds);
      stream.resume();
      if (!isMailError(err, 'TOO_BIG')) this.log.error('staging failed', { err, rcpt: recipients });
      return recipients.map((rcpt) => deliveryFailure(rcpt, err));
    }
    const internalDate = new Date();
    const results: SMTPServerDataResult[] = [];
    const stagedIn = new Map<string, Promise<StagedMessage>>([[home.name, Promise.resolve(staged)]]);
    for (const target of targets) {
      const rcpt = target.rcpt;
      try {
        if (!target.ok) throw target.error;
        const { found, repo } = target;
        let copy = stagedIn.get(repo.name);
        if (!copy) stagedIn.set(repo.name, (copy = copyStaged(home, staged, repo)));
        const mailbox = await targetMailbox(repo.store, found, () => this.stillHere(rcpt, found));
        const result = await repo.ingest.commit(mailbox, [{ staged: await copy, flags: [], internalDate }]);
        this.log.info('delivered', { rcpt, account: found.account.name, mailbox: mailbox.name, uid: result.uids[0], size: staged.size });
        results.push(`<${rcpt}> delivered`);
      } catch (err) {
        const reply = err instanceof LmtpReply ? err : await this.failureReply(rcpt, target, err);
        if (reply.responseCode !== 550) this.log.warn('delivery failed', { rcpt, err });
        results.push(reply);
      }
    }
    return results;
  }

  /**
   * The reply for a failed commit. A `petrel user move` that finished while
   * the commit waited leaves the old repository without the account (the
   * commit fails there): the MTA must retry, not bounce.
   */
  private async failureReply(rcpt: string, target: { ok: boolean; found?: ResolvedRecipient }, err: unknown): Promise<LmtpReply> {
    const before = target.found?.account;
    if (before) {
      const now = await this.deps.directory.findAccount(before.name).catch(() => null);
      if (now && now.id === before.id && (now.repository !== before.repository || isFrozen(now))) return accountMoving(rcpt);
    }
    return deliveryFailure(rcpt, err);
  }

  /**
   * Before an INBOX is created for a delivery: `petrel user move` drops the
   * account's mailboxes from the repository it left but keeps its account
   * row there, so a recipient found before the move would otherwise get a
   * new INBOX, and the message, in the old repository. Moved, moving
   * (frozen) or gone: 451, the MTA retries where the account now is.
   */
  private async stillHere(rcpt: string, found: ResolvedRecipient): Promise<void> {
    const now = await this.deps.directory.findAccount(found.account.name);
    if (!now || now.id !== found.account.id || now.repository !== found.account.repository || isFrozen(now)) throw accountMoving(rcpt);
  }

  /**
   * The recipient's account and repository, or why it cannot be delivered
   * to. `atRcpt`: what RCPT TO found, used as it is: a freeze set since then
   * (`petrel user move`) is not seen here, but the move holds the account's
   * mailbox rows before its last pass, so the commit waits, then fails, and
   * failureReply answers 451 (the MTA retries where the account now is).
   */
  private async recipientTarget(
    rcpt: string,
    atRcpt?: ResolvedRecipient,
  ): Promise<{ ok: true; rcpt: string; found: ResolvedRecipient; repo: Repository } | { ok: false; rcpt: string; error: unknown }> {
    try {
      const found = atRcpt ?? (await this.resolve(rcpt));
      if (!found) throw new MailError('NOT_FOUND', 'account no longer exists');
      if (isFrozen(found.account)) throw accountMoving(rcpt);
      return { ok: true, rcpt, found, repo: await this.deps.repositories.forAccount(found.account) };
    } catch (error) {
      return { ok: false, rcpt, error };
    }
  }
}

/** smtp-server whose plaintext connections read into pooled memory (pooled-feed.ts). */
class PooledSMTPServer extends SMTPServer {
  /** Only with the smtp-server version whose internals pooled-feed.ts and data-phase.ts follow. */
  private readonly pooled = useLinearDataPhase();
  /** The connection connect() has just made (smtp-server adds it to its set there, synchronously). */
  private added: SMTPConnection | null = null;

  constructor(options: ConstructorParameters<typeof SMTPServer>[0]) {
    super(options);
    const connections = this.connections;
    const add = connections.add.bind(connections);
    connections.add = (connection) => {
      this.added = connection as unknown as SMTPConnection;
      return add(connection);
    };
  }

  override connect(socket: Socket | TLSSocket, socketOptions?: Parameters<SMTPServer['connect']>[1]): void {
    this.added = null;
    super.connect(socket, socketOptions);
    // Set by the wrapped add() during super.connect() (TypeScript narrows the field to null here).
    const connection = this.added as SMTPConnection | null;
    this.added = null;
    if (this.pooled && connection && connection._socket === socket) usePooledReads(connection);
  }
}

/**
 * The +detail folder when it exists and is selectable, else INBOX (created
 * if missing, once `stillHere` has confirmed the account still lives in
 * this repository).
 */
async function targetMailbox(store: MailStore, found: ResolvedRecipient, stillHere: () => Promise<void>): Promise<MailboxInfo> {
  const accountId = found.account.id;
  if (found.folder) {
    const folder = await store.getMailbox(accountId, found.folder);
    if (folder?.selectable) return folder;
  }
  const inbox = await store.getMailbox(accountId, 'INBOX');
  if (inbox) return inbox;
  await stillHere();
  try {
    return await store.createMailbox(accountId, 'INBOX');
  } catch (err) {
    // Another delivery created it meanwhile.
    if (!isMailError(err, 'ALREADY_EXISTS')) throw err;
    const again = await store.getMailbox(accountId, 'INBOX');
    if (!again) throw err;
    return again;
  }
}
