// NAMESPACE (RFC 9051 6.3.10 / RFC 2342): one personal namespace, "" with "/".

import type { Handler } from '../context.js';

export const namespaceHandler: Handler = async ({ session }) => {
  await session.send({ kind: 'NAMESPACE', personal: [{ prefix: '', delimiter: '/' }], otherUsers: null, shared: null });
  return { status: 'OK', text: 'NAMESPACE completed' };
};
