// The capability list, in one place, built from the session's situation.
// Only what is really implemented is advertised.

export interface CapabilityState {
  authenticated: boolean;
  /** The connection is encrypted (implicit TLS or after STARTTLS). */
  secure: boolean;
  /** A certificate is configured, so STARTTLS can be offered. */
  tlsAvailable: boolean;
  allowPlaintextAuth: boolean;
}

const ALWAYS = [
  'IMAP4rev1',
  'IMAP4rev2',
  'SASL-IR',
  'LITERAL+',
  'COMPRESS=DEFLATE',
  'ENABLE',
  'ID',
  'IDLE',
  'NAMESPACE',
  'UNSELECT',
  'UIDPLUS',
  'MOVE',
  'CHILDREN',
  'LIST-EXTENDED',
  'LIST-STATUS',
  'SPECIAL-USE',
  'CREATE-SPECIAL-USE',
  'ESEARCH',
  'SEARCHRES',
  'SORT',
  'SORT=DISPLAY',
  'ESORT',
  'THREAD=ORDEREDSUBJECT',
  'THREAD=REFERENCES',
  'BINARY',
  'STATUS=SIZE',
  // RFC 9208 (src/imap/quota.ts); no QUOTASET: SETQUOTA is refused with [NOPERM].
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  'CONDSTORE',
  'QRESYNC',
  // RFC 5032 OLDER/YOUNGER, RFC 8514 save dates, RFC 8970 previews from the stored index.
  'WITHIN',
  'SAVEDATE',
  'PREVIEW',
];

/**
 * Extensions ENABLE accepts (answered in ENABLED when they apply). Only
 * advertised ones (RFC 5161 3.1): UTF8=ACCEPT is not advertised, so ENABLE
 * ignores it (IMAP4rev2 brings UTF-8 names and strings anyway).
 * QRESYNC implies CONDSTORE (RFC 7162 3.2.3).
 */
export const ENABLEABLE = ['IMAP4REV2', 'CONDSTORE', 'QRESYNC'];

/** True when a password may be sent on this connection. */
export function loginAllowed(s: CapabilityState): boolean {
  return s.secure || s.allowPlaintextAuth;
}

export function capabilities(s: CapabilityState): string[] {
  const caps = [...ALWAYS];
  if (s.authenticated) return caps;
  if (!s.secure && s.tlsAvailable) caps.push('STARTTLS');
  if (loginAllowed(s)) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
  else caps.push('LOGINDISABLED');
  return caps;
}
