// One append-message of APPEND or REPLACE, staged (blob written, indexed),
// ready for the metadata commit: the plain literal (usually staged already
// while it arrived, spool.ts), or a CATENATE message (catenate.ts). The
// rules every form shares are checked here:
// - a NUL only in a literal8 (RFC 3516 4.2);
// - RFC 6855 4: a session that enabled neither UTF8=ACCEPT nor IMAP4rev2
//   gets NO for a message with 8-bit octets in its header.
// A refused message leaves at most a staged blob nobody refers to, which the
// blob collector removes.

import type { Readable } from 'node:stream';
import type { StagedMessage } from '../mail/ports.js';
import type { AppendMessage } from '../protocol/imap/ast.js';
import { stageCatenated } from './catenate.js';
import { CommandError, type SessionDeps } from './context.js';
import type { Session } from './session.js';
import { stagedOf } from './spool.js';

/** The literal's bytes as a stream; notes whether a NUL went by. */
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

async function stageLiteral(deps: SessionDeps, msg: AppendMessage): Promise<StagedMessage> {
  const limit = deps.config.limits.maxMessageSize;
  const size = Buffer.isBuffer(msg.data) ? msg.data.length : msg.data.size;
  if (size > limit) throw new CommandError({ status: 'NO', code: { kind: 'TOOBIG' }, text: 'Message too large' });
  const early = Buffer.isBuffer(msg.data) ? undefined : stagedOf(msg.data);
  let staged: StagedMessage;
  let nul: boolean;
  if (early) {
    if (!early.staged) throw early.error;
    staged = early.staged;
    nul = early.nul;
  } else {
    const seen = { nul: false };
    staged = await deps.ingest.stage(source(msg, seen), limit);
    nul = seen.nul;
  }
  if (nul && !msg.binary) throw new CommandError({ status: 'NO', text: 'Message contains NUL; use a literal8 (~{n})' });
  return staged;
}

/**
 * True when the message's top-level header holds an octet >= 0x80: as the
 * ingest saw it while staging, else read by streaming the header's byte range.
 */
async function eightBitHeader(deps: SessionDeps, staged: StagedMessage): Promise<boolean> {
  if (staged.headerEightBit !== undefined) return staged.headerEightBit;
  const { headerStart, bodyStart } = staged.index.root;
  if (bodyStart <= headerStart) return false;
  const stream = deps.blobs.read(staged.blobId, { start: headerStart, end: bodyStart }) as Readable & AsyncIterable<Buffer>;
  for await (const chunk of stream) {
    for (const b of chunk) {
      if (b >= 0x80) {
        stream.destroy();
        return true;
      }
    }
  }
  return false;
}

/** Stages one append-message; throws a CommandError (tagged NO) when it is refused. */
export async function stageAppendMessage(session: Session, deps: SessionDeps, msg: AppendMessage): Promise<StagedMessage> {
  const staged = msg.catenate ? await stageCatenated(session, deps, msg.catenate) : await stageLiteral(deps, msg);
  if (!session.utf8 && (await eightBitHeader(deps, staged))) {
    throw new CommandError({ status: 'NO', text: 'Message header has 8-bit characters: ENABLE UTF8=ACCEPT first (RFC 6855)' });
  }
  return staged;
}
