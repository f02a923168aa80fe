// AUTHENTICATE (RFC 9051 6.2.2) with PLAIN (RFC 4616) and LOGIN, SASL-IR
// (RFC 4959). A "*" response cancels the exchange with a tagged BAD.

import type { Handler, CommandOf, TaggedResult } from '../context.js';
import type { Session } from '../session.js';
import { privacyRequired, verifyLogin } from './login-common.js';

const CANCELLED: TaggedResult = { status: 'BAD', text: 'Authentication cancelled' };
const MALFORMED: TaggedResult = { status: 'BAD', text: 'Invalid SASL response' };

class Cancelled extends Error {}
class Malformed extends Error {}

function decodeBase64(text: string): Buffer {
  if (text === '=') return Buffer.alloc(0); // SASL-IR: an empty initial response
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) throw new Malformed();
  return Buffer.from(text, 'base64');
}

/** Sends a challenge and reads the client's base64 response. */
async function challenge(session: Session, text: string): Promise<Buffer> {
  await session.send({ kind: 'continuation', text });
  const line = await session.io.readLine();
  if (line === null) throw new Cancelled();
  const s = line.toString('latin1');
  if (s === '*') throw new Cancelled();
  return decodeBase64(s);
}

export const authenticateHandler: Handler<CommandOf<'AUTHENTICATE'>> = async ({ session, command }) => {
  const mechanism = command.mechanism.toUpperCase();
  if (mechanism !== 'PLAIN' && mechanism !== 'LOGIN') {
    return { status: 'NO', text: `Unsupported authentication mechanism ${command.mechanism}` };
  }
  const refused = privacyRequired(session);
  if (refused) return refused;
  try {
    if (mechanism === 'PLAIN') {
      const data = command.initialResponse !== null ? decodeBase64(command.initialResponse) : await challenge(session, '');
      // authzid NUL authcid NUL passwd
      const first = data.indexOf(0);
      const second = first < 0 ? -1 : data.indexOf(0, first + 1);
      // Valid base64 that is not a PLAIN message fails the authentication (RFC 4616 2): NO, not BAD.
      if (first < 0 || second < 0) return { status: 'NO', code: { kind: 'AUTHENTICATIONFAILED' }, text: 'Authentication failed' };
      const authzid = data.subarray(0, first).toString('utf8');
      const user = data.subarray(first + 1, second).toString('utf8');
      const password = data.subarray(second + 1).toString('utf8');
      if (authzid !== '' && authzid !== user) {
        return { status: 'NO', code: { kind: 'AUTHORIZATIONFAILED' }, text: 'Authorization identity not allowed' };
      }
      return await verifyLogin(session, user, password);
    }
    const userBytes =
      command.initialResponse !== null
        ? decodeBase64(command.initialResponse)
        : await challenge(session, Buffer.from('Username:').toString('base64'));
    const passBytes = await challenge(session, Buffer.from('Password:').toString('base64'));
    return await verifyLogin(session, userBytes.toString('utf8'), passBytes.toString('utf8'));
  } catch (e) {
    if (e instanceof Cancelled) return CANCELLED;
    if (e instanceof Malformed) return MALFORMED;
    throw e;
  }
};
