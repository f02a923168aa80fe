// NAMESPACE (RFC 9051 6.3.10 / RFC 2342): personal "", other users'
// "Other Users/" and shared "Shared/", all with "/" (see ../namespaces.ts).

import type { Handler } from '../context.js';
import { OTHER_USERS, SHARED } from '../namespaces.js';

export const namespaceHandler: Handler = async ({ session }) => {
  await session.send({
    kind: 'NAMESPACE',
    personal: [{ prefix: '', delimiter: '/' }],
    otherUsers: [{ prefix: `${OTHER_USERS}/`, delimiter: '/' }],
    shared: [{ prefix: `${SHARED}/`, delimiter: '/' }],
  });
  return { status: 'OK', text: 'NAMESPACE completed' };
};
