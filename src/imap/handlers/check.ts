// CHECK (RFC 3501 6.4.1; gone from IMAP4rev2 but served to rev1 clients as a NOOP).
// Every change is already durable, so there is nothing to checkpoint.

import type { Handler } from '../context.js';

export const checkHandler: Handler = async () => ({ status: 'OK', text: 'CHECK completed' });
