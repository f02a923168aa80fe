// APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502, atomic), [APPENDUID]
// (RFC 4315), [TOOBIG] (RFC 7889) and literal8 (RFC 3516). Message literals
// were staged (blob written, fsynced, indexed) by the connection while they
// arrived (../spool.ts); other literal values are staged here. Only the
// metadata commit is left, atomic over all messages.

import type { StagedMessage } from '../../mail/ports.js';
import type { AppendMessage } from '../../protocol/imap/ast.js';
import { compressUids } from '../../protocol/imap/sequence.js';
import { CommandError, type CommandOf, type Handler, type HandlerContext } from '../context.js';
import { stagedOf } from '../spool.js';

/** The literal's bytes as a stream; notes whether a NUL went by (only literal8 may carry one). */
function source(msg: AppendMessage, seen: { nul: boolean }): AsyncIterable<Buffer> {
  const data = msg.data;
  return (async function* () {
    if (Buffer.isBuffer(data)) {
      if (data.includes(0)) seen.nul = true;
      yield data;
      return;
    }
    for await (const chunk of data.open()) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (!seen.nul && b.includes(0)) seen.nul = true;
      yield b;
    }
  })();
}

async function stage(deps: HandlerContext<CommandOf<'APPEND'>>['deps'], msg: AppendMessage): Promise<{ s: StagedMessage; nul: boolean }> {
  const early = Buffer.isBuffer(msg.data) ? undefined : stagedOf(msg.data);
  if (early) {
    if (!early.staged) throw early.error;
    return { s: early.staged, nul: early.nul };
  }
  const seen = { nul: false };
  const s = await deps.ingest.stage(source(msg, seen), deps.config.limits.maxMessageSize);
  return { s, nul: seen.nul };
}

export const appendHandler: Handler<CommandOf<'APPEND'>> = async ({ session, deps, command }) => {
  const account = session.account!;
  const limits = deps.config.limits;
  const mailbox = await deps.store.getMailbox(account.id, session.fromWire(command.mailbox));
  if (!mailbox) throw new CommandError({ status: 'NO', code: { kind: 'TRYCREATE' }, text: 'Mailbox does not exist' });
  if (!mailbox.selectable) throw new CommandError({ status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' });
  if (command.messages.length > limits.maxAppendMessages) {
    return { status: 'NO', code: { kind: 'LIMIT' }, text: `At most ${limits.maxAppendMessages} messages per APPEND` };
  }
  const staged: Array<{ staged: StagedMessage; flags: string[]; internalDate: Date }> = [];
  for (const msg of command.messages) {
    const size = Buffer.isBuffer(msg.data) ? msg.data.length : msg.data.size;
    if (size > limits.maxMessageSize) return { status: 'NO', code: { kind: 'TOOBIG' }, text: 'Message too large' };
    const { s, nul } = await stage(deps, msg);
    // A NUL is only allowed in literal8 (RFC 3516 4.2); the staged blob is left to the collector.
    if (nul && !msg.binary) return { status: 'NO', text: 'Message contains NUL; use a literal8 (~{n})' };
    staged.push({ staged: s, flags: msg.flags.filter((f) => f !== '\\Recent'), internalDate: msg.date ?? new Date() });
  }
  const result = await deps.ingest.commit(mailbox, staged);
  const sel = session.selected;
  if (sel && sel.mailbox.id === mailbox.id) sel.view.dirty = true;
  return {
    status: 'OK',
    code: { kind: 'APPENDUID', uidValidity: result.uidValidity, uids: compressUids(result.uids) },
    text: 'APPEND completed',
  };
};
