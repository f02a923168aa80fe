// CAPABILITY (RFC 9051 6.1.1).

import type { Handler } from '../context.js';

export const capabilityHandler: Handler = async ({ session }) => {
  await session.send({ kind: 'CAPABILITY', capabilities: session.capabilities() });
  return { status: 'OK', text: 'CAPABILITY completed' };
};
