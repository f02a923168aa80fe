// STARTTLS (RFC 9051 6.2.1). The connection wraps the socket after the tagged OK.

import type { Handler } from '../context.js';

export const starttlsHandler: Handler = async ({ session }) => {
  const st = session.capabilityState();
  if (st.secure) return { status: 'BAD', text: 'TLS is already active' };
  if (!st.tlsAvailable) return { status: 'BAD', text: 'STARTTLS is not available' };
  return { status: 'OK', text: 'Begin TLS negotiation now', after: 'starttls' };
};
