// The one mapping from storage errors to tagged IMAP responses (RFC 5530
// response codes). Handlers throw; the session calls mapError.

import { isMailError } from '../mail/errors.js';
import type { Logger } from '../util/log.js';
import { CommandError, type TaggedResult } from './context.js';
import { InvalidSequenceError } from './view.js';

export interface ErrorContext {
  /** The missing mailbox was the target of APPEND/COPY/MOVE: answer [TRYCREATE]. */
  target?: boolean;
  logger: Logger;
  command: string;
}

export function mapError(e: unknown, ctx: ErrorContext): TaggedResult {
  if (e instanceof CommandError) return e.result;
  if (e instanceof InvalidSequenceError) return { status: 'BAD', text: e.message };
  if (isMailError(e)) {
    // Fixed texts where the storage message adds nothing; the others say what was wrong.
    const text = e.message;
    switch (e.code) {
      case 'NOT_FOUND':
        return { status: 'NO', code: { kind: ctx.target ? 'TRYCREATE' : 'NONEXISTENT' }, text: 'Mailbox does not exist' };
      case 'ALREADY_EXISTS':
        return { status: 'NO', code: { kind: 'ALREADYEXISTS' }, text: 'Mailbox already exists' };
      case 'NOT_SELECTABLE':
        return { status: 'NO', code: { kind: 'CANNOT' }, text: 'Mailbox is not selectable' };
      case 'HAS_CHILDREN':
        return { status: 'NO', code: { kind: 'HASCHILDREN' }, text: 'Mailbox has children' };
      case 'INVALID_NAME':
        return { status: 'NO', code: { kind: 'CANNOT' }, text };
      case 'CANNOT':
        return { status: 'NO', code: { kind: 'CANNOT' }, text };
      case 'OVER_QUOTA':
        return { status: 'NO', code: { kind: 'OVERQUOTA' }, text: 'Quota exceeded' };
      case 'EXPUNGED':
        return { status: 'NO', code: { kind: 'EXPUNGEISSUED' }, text: 'Message was expunged' };
      case 'TOO_BIG':
        return { status: 'NO', code: { kind: 'TOOBIG' }, text };
      case 'LIMIT':
        return { status: 'NO', code: { kind: 'LIMIT' }, text };
      case 'UNAVAILABLE':
        return { status: 'NO', code: { kind: 'UNAVAILABLE' }, text: 'Storage temporarily unavailable; try again' };
      case 'CORRUPT':
        ctx.logger.error('corrupt data', { command: ctx.command, err: e });
        return { status: 'NO', code: { kind: 'CORRUPTION' }, text };
      case 'AUTH_FAILED':
        return { status: 'NO', code: { kind: 'AUTHENTICATIONFAILED' }, text };
    }
  }
  ctx.logger.error('unexpected error in command', { command: ctx.command, err: e instanceof Error ? e : String(e) });
  return { status: 'NO', code: { kind: 'SERVERBUG' }, text: 'Internal server error' };
}
