// SASL message decoding for the IMAP AUTHENTICATE command (pure, no I/O).
// PLAIN (RFC 4616): base64 of authzid NUL authcid NUL passwd. LOGIN (the
// de-facto mechanism): the client sends base64 username, then base64
// password, after the server's "Username:" / "Password:" challenges.

export interface SaslPlainCredentials {
  /** Authorization identity: '' when absent; otherwise equal to `username` (others are refused). */
  authzid: string;
  username: string;
  password: string;
}

/** Challenges for AUTHENTICATE LOGIN, already base64 ("Username:", "Password:"). */
export const SASL_LOGIN_USERNAME_CHALLENGE = Buffer.from('Username:').toString('base64');
export const SASL_LOGIN_PASSWORD_CHALLENGE = Buffer.from('Password:').toString('base64');

/** RFC 4616: each field is at most 255 octets. */
const MAX_FIELD_OCTETS = 255;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict base64 (RFC 4648 alphabet, correct padding); null when not base64. */
export function decodeBase64Strict(text: string): Buffer | null {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text)) return null;
  return Buffer.from(text, 'base64');
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/**
 * Decodes a SASL PLAIN message. Null when malformed (bad base64, not three
 * fields, empty user or password, a field over 255 octets, invalid UTF-8) or
 * when it asks to act as another identity (authzid given and different from
 * the authentication identity: Petrel has no proxy authorization).
 */
export function decodeSaslPlain(base64: string): SaslPlainCredentials | null {
  const bytes = decodeBase64Strict(base64);
  if (!bytes) return null;
  const first = bytes.indexOf(0);
  const second = first < 0 ? -1 : bytes.indexOf(0, first + 1);
  if (first < 0 || second < 0 || bytes.indexOf(0, second + 1) >= 0) return null;
  const fields = [bytes.subarray(0, first), bytes.subarray(first + 1, second), bytes.subarray(second + 1)];
  if (fields.some((f) => f.length > MAX_FIELD_OCTETS)) return null;
  const [authzid, username, password] = fields.map(decodeUtf8);
  if (authzid == null || !username || !password) return null;
  if (authzid !== '' && authzid !== username) return null;
  return { authzid, username, password };
}

/** Decodes one SASL LOGIN response (username or password); null when malformed or empty. */
export function decodeSaslLoginField(base64: string): string | null {
  const bytes = decodeBase64Strict(base64);
  if (!bytes || bytes.length === 0 || bytes.length > MAX_FIELD_OCTETS || bytes.includes(0)) return null;
  return decodeUtf8(bytes);
}
