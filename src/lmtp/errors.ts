// The one place where storage errors become LMTP replies (RFC 2033 per-
// recipient status after DATA, RFC 3463 enhanced codes). smtp-server adds the
// enhanced status code that belongs to each reply code (550 -> 5.1.1,
// 451 -> 4.3.0, 452 -> 4.2.2, 552 -> 5.2.2).

import { isMailError } from '../mail/errors.js';

/** An error smtp-server turns into one reply line. */
export class LmtpReply extends Error {
  constructor(
    readonly responseCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function unknownUser(address: string): LmtpReply {
  return new LmtpReply(550, `<${address}> unknown user`);
}

/** The account is being moved between repositories (`petrel user move`): the MTA retries. */
export function accountMoving(address: string): LmtpReply {
  return new LmtpReply(451, `<${address}> mailbox is being moved, try again later`);
}

/** Maps anything thrown while delivering to one recipient to its reply. Unknown errors are temporary. */
export function deliveryFailure(address: string, err: unknown): LmtpReply {
  if (isMailError(err)) {
    switch (err.code) {
      case 'NOT_FOUND':
        return unknownUser(address);
      case 'OVER_QUOTA':
        return new LmtpReply(552, `<${address}> mailbox is full`);
      case 'TOO_BIG':
        return new LmtpReply(552, `<${address}> message exceeds the size limit`);
      case 'LIMIT':
        return new LmtpReply(452, `<${address}> temporarily over a limit, try again later`);
      default:
        break;
    }
  }
  return new LmtpReply(451, `<${address}> temporary failure, try again later`);
}
