// Typed storage errors. They know nothing of IMAP or LMTP: each protocol maps
// `code` to its own response in exactly one place (src/imap/errors.ts,
// src/lmtp/errors.ts).

export type MailErrorCode =
  | 'NOT_FOUND' // mailbox (or account) does not exist
  | 'ALREADY_EXISTS' // mailbox name taken
  | 'NOT_SELECTABLE' // \Noselect placeholder
  | 'HAS_CHILDREN' // operation not allowed because of inferior names
  | 'INVALID_NAME' // mailbox name not acceptable
  | 'CANNOT' // operation never allowed (e.g. delete INBOX)
  | 'OVER_QUOTA'
  | 'EXPUNGED' // message no longer exists
  | 'TOO_BIG' // message or literal larger than allowed
  | 'LIMIT' // some other configured limit reached
  | 'UNAVAILABLE' // storage temporarily unreachable; retrying later may work
  | 'CORRUPT' // stored data is inconsistent
  | 'AUTH_FAILED';

export class MailError extends Error {
  override readonly name = 'MailError';
  constructor(
    readonly code: MailErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isMailError(e: unknown, code?: MailErrorCode): e is MailError {
  return e instanceof MailError && (code === undefined || e.code === code);
}
