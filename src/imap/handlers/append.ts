// APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502, atomic), [APPENDUID]
// (RFC 4315), [TOOBIG] (RFC 7889), literal8 (RFC 3516), CATENATE (RFC 4469)
// and UTF8 data (RFC 6855). Message literals were staged (blob written,
// fsynced, indexed) by the connection while they arrived (../spool.ts); each
// message is finished in ../append-message.ts. Only the metadata commit is
// left, atomic over all messages.

import type { StagedMessage } from '../../mail/ports.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import { stageAppendMessage } from '../append-message.js';
import { commitAppend } from '../append-commit.js';
import type { CommandOf, Handler } from '../context.js';
import { sameMailbox } from '../mailbox-access.js';
import { targetMailbox } from './copy.js';

export const appendHandler: Handler<CommandOf<'APPEND'>> = async ({ session, deps, command }) => {
  const limits = deps.config.limits;
  // RFC 4314 4: "i" on the target, which may be in another repository.
  const target = await targetMailbox(session, command.mailbox);
  if (command.messages.length > limits.maxAppendMessages) {
    return { status: 'NO', code: { kind: 'LIMIT' }, text: `At most ${limits.maxAppendMessages} messages per APPEND` };
  }
  const staged: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }> = [];
  // All staged first, then one commit: MULTIAPPEND is all or nothing (RFC 3502); a refused
  // message (TOOBIG, NUL, BADURL, 8-bit header) leaves only staged blobs for the collector.
  for (const msg of command.messages) {
    const s = await stageAppendMessage(session, session.home, msg);
    staged.push({ staged: s, flags: msg.flags.filter((f) => f !== '\\Recent'), internalDate: msg.date ?? new Date() });
  }
  const result = await commitAppend(session, target, staged);
  const sel = session.selected;
  if (sel && sameMailbox(sel.ref, target)) sel.view.dirty = true;
  return {
    status: 'OK',
    code: { kind: 'APPENDUID', uidValidity: result.uidValidity, uids: compressUids(result.uids) },
    text: 'APPEND completed',
  };
};
