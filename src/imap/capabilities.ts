// The capability list, in one place, built from the session's situation.
// Only what is really implemented is advertised.

import { RIGHTS_CAPABILITY } from '../mail/acl.js';

export interface CapabilityState {
  authenticated: boolean;
  /** The connection is encrypted (implicit TLS or after STARTTLS). */
  secure: boolean;
  /** A certificate is configured, so STARTTLS can be offered. */
  tlsAvailable: boolean;
  allowPlaintextAuth: boolean;
  /** RFC 7889: the one upload limit of all mailboxes (limits.max_message_size), advertised as APPENDLIMIT=<n>. */
  appendLimit?: number;
}

const ALWAYS = [
  'IMAP4rev1',
  'IMAP4rev2',
  'SASL-IR',
  // RFC 2221: referrals are a MAY (4.1); Petrel never sends one, every server serves every user.
  'LOGIN-REFERRALS',
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
  // Dovecot's REFERENCES variant without subject gathering, threads by newest message (imap/threading.ts).
  'THREAD=REFS',
  // RFC 5255 4.3: SEARCH, SORT and THREAD compare with i;unicode-casemap (src/mime/unicode-casemap.ts),
  // UTF-8 is a SEARCH charset. Level 1 has no COMPARATOR command (that is I18NLEVEL=2).
  'I18NLEVEL=1',
  'BINARY',
  'STATUS=SIZE',
  // RFC 9208 (src/imap/quota.ts); no QUOTASET: SETQUOTA is refused with [NOPERM].
  'QUOTA',
  'QUOTA=RES-STORAGE',
  'QUOTA=RES-MESSAGE',
  // RFC 4314 with other users' and shared namespaces (src/imap/mailbox-access.ts, src/mail/acl.ts).
  'ACL',
  RIGHTS_CAPABILITY,
  // RFC 5464 mailbox and server annotations (src/imap/metadata.ts). Not also
  // METADATA-SERVER: that one announces server annotations only (RFC 5464 1).
  'METADATA',
  'CONDSTORE',
  'QRESYNC',
  // RFC 5032 OLDER/YOUNGER, RFC 8514 save dates, RFC 8970 previews from the stored index.
  'WITHIN',
  'SAVEDATE',
  'PREVIEW',
  // The pre-RFC 8970 draft forms Dovecot 2.3 still offers: FETCH PREVIEW (FUZZY) and SNIPPET (FUZZY),
  // answered "(FUZZY text)" from the same stored preview (protocol/imap/parser/fetch.ts).
  'PREVIEW=FUZZY',
  'SNIPPET=FUZZY',
  // RFC 8474 (src/imap/object-id.ts), RFC 9394 PARTIAL, RFC 9586 UIDONLY (src/imap/uidonly.ts),
  // RFC 5267 update contexts (src/imap/search-context.ts).
  'OBJECTID',
  'PARTIAL',
  'UIDONLY',
  'CONTEXT=SEARCH',
  'CONTEXT=SORT',
  // RFC 5465 (src/imap/notify.ts).
  'NOTIFY',
];

/**
 * Extensions ENABLE accepts (answered in ENABLED when they apply), only
 * advertised ones (RFC 5161 3.1). QRESYNC implies CONDSTORE (RFC 7162 3.2.3).
 * UTF8=ACCEPT (RFC 6855 3) only in the authenticated state (handlers/enable.ts).
 */
export const ENABLEABLE = ['IMAP4REV2', 'CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT', 'UIDONLY'];

/** The APPEND family: RFC 3502, RFC 4469 + RFC 5550 (imap/catenate.ts), RFC 8508 (handlers/replace.ts), RFC 6855. */
const APPEND_EXTENSIONS = ['MULTIAPPEND', 'CATENATE', 'URL-PARTIAL', 'REPLACE', 'UTF8=ACCEPT'];

/** True when a password may be sent on this connection. */
export function loginAllowed(s: CapabilityState): boolean {
  return s.secure || s.allowPlaintextAuth;
}

export function capabilities(s: CapabilityState): string[] {
  const caps = [...ALWAYS, ...APPEND_EXTENSIONS];
  if (s.appendLimit !== undefined) caps.push(`APPENDLIMIT=${s.appendLimit}`);
  if (s.authenticated) return caps;
  if (!s.secure && s.tlsAvailable) caps.push('STARTTLS');
  if (loginAllowed(s)) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
  else caps.push('LOGINDISABLED');
  return caps;
}
