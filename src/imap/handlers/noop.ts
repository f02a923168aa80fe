// NOOP (RFC 9051 6.1.2): the session polls the mailbox when it completes (registry flag `polls`).

import type { Handler } from '../context.js';

export const noopHandler: Handler = async () => ({ status: 'OK', text: 'NOOP completed' });
