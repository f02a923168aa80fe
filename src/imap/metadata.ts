// RFC 5464 METADATA as Petrel has it, shared by the GETMETADATA and
// SETMETADATA handlers:
// - mailbox annotations live with the mailbox (its repository), /private per
//   user and /shared for all users, and follow it through RENAME;
// - server annotations ("" as the mailbox) live in the default repository:
//   /private ones per account; /shared ones are the administrator's, read-only
//   to clients: /shared/comment and /shared/admin come from the configuration
//   (imap.server_comment, imap.server_admin);
// - no unsolicited METADATA responses (RFC 5464 4.1 makes them optional), so
//   ENABLE METADATA is not accepted.

import type { Repository } from '../mail/repository.js';
import { isMailError } from '../mail/errors.js';
import type { MetadataEntry, MetadataLimits, MetadataTarget } from '../mail/metadata.js';
import type { MailStore } from '../mail/ports.js';
import type { MailboxInfo } from '../mail/types.js';
import { CommandError, type HandlerContext, type TaggedResult } from './context.js';

export type MetadataOperation = 'get' | 'set';

/**
 * The rights a METADATA command needs on a mailbox (RFC 5464 3.3 with ACL):
 * "l" and any one of "r", "s", "w", "i", "p", for reading and for setting,
 * /private and /shared entries alike. Server annotations need no right.
 */
export function metadataRightsAllow(rights: string): boolean {
  return rights.includes('l') && [...'rswip'].some((r) => rights.includes(r));
}

/** Where the annotations of a command's mailbox argument live. */
export interface MetadataPlace {
  /** The repository whose database holds the annotations (the default one for the server's). */
  repository: Repository;
  store: MailStore;
  target: MetadataTarget;
  /** Mailbox name for the METADATA response, as sent on the wire ("" = the server). */
  wireName: string;
  /** null for the server. */
  mailbox: MailboxInfo | null;
}

/**
 * Resolves the mailbox argument: "" = the server (default repository), else
 * a mailbox the user may annotate: NO [NONEXISTENT] when missing (or not
 * even visible), NO [NOPERM] without the rights.
 */
export async function metadataPlace(ctx: HandlerContext, mailboxArg: string, operation: MetadataOperation): Promise<MetadataPlace> {
  const account = ctx.session.account!;
  if (mailboxArg === '') {
    const primary = ctx.deps.repositories.primary;
    return { repository: primary, store: primary.store, target: { accountId: account.id, mailboxId: null }, wireName: '', mailbox: null };
  }
  // Any mailbox the user may look up, in whichever namespace and repository (rights from its ACL).
  const ref = await ctx.session.access.resolve(ctx.session.fromWire(mailboxArg));
  const mailbox = ref?.mailbox ?? null;
  const rights = ref?.rights ?? '';
  if (!ref || !mailbox || !rights.includes('l')) throw new CommandError({ status: 'NO', code: { kind: 'NONEXISTENT' }, text: 'Mailbox does not exist' });
  if (!metadataRightsAllow(rights))
    throw new CommandError({ status: 'NO', code: { kind: 'NOPERM' }, text: 'Permission denied (annotations need "l" and one of "rswip")' });
  // A /private value refers to its user's account row in the mailbox's database (its home has it already).
  if (operation === 'set' && ref.repository !== ctx.session.home.repository) await ctx.deps.repositories.adoptAccount(account, ref.repository);
  return {
    repository: ref.repository,
    store: ref.repository.store,
    target: { accountId: account.id, mailboxId: mailbox.id },
    wireName: ctx.session.toWire(ref.display),
    mailbox,
  };
}

/** The server's /shared entries the configuration sets (read-only to clients). */
export function configuredServerEntries(ctx: HandlerContext): MetadataEntry[] {
  const { serverComment, serverAdmin } = ctx.deps.config.imap;
  const out: MetadataEntry[] = [];
  if (serverAdmin !== null) out.push({ name: '/shared/admin', value: Buffer.from(serverAdmin, 'utf8') });
  if (serverComment !== null) out.push({ name: '/shared/comment', value: Buffer.from(serverComment, 'utf8') });
  return out;
}

export function metadataLimits(ctx: HandlerContext): MetadataLimits {
  const { maxMetadataValueSize, maxMetadataEntries } = ctx.deps.config.limits;
  return { maxValueSize: maxMetadataValueSize, maxEntries: maxMetadataEntries };
}

/** RFC 5464 4.3: a value too large -> NO [METADATA MAXSIZE n] with the largest accepted size. */
export function metadataTooBig(maxValueSize: number): TaggedResult {
  return { status: 'NO', code: { kind: 'METADATA', detail: { kind: 'MAXSIZE', size: maxValueSize } }, text: `Annotation value too large (limit ${maxValueSize} octets)` };
}

/** The storage errors of SETMETADATA that RFC 5464 names (MAXSIZE, TOOMANY); null for the others. */
export function setMetadataError(err: unknown, limits: MetadataLimits): TaggedResult | null {
  if (isMailError(err, 'TOO_BIG')) return metadataTooBig(limits.maxValueSize);
  if (isMailError(err, 'LIMIT'))
    return { status: 'NO', code: { kind: 'METADATA', detail: { kind: 'TOOMANY' } }, text: `Too many annotations (limit ${limits.maxEntries})` };
  if (isMailError(err, 'INVALID_NAME')) return { status: 'BAD', text: err.message };
  return null;
}
