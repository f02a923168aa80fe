// COMPRESS DEFLATE (RFC 4978). The connection switches both directions to
// raw DEFLATE right after writing this tagged OK (uncompressed).
// A second COMPRESS gets NO [COMPRESSIONACTIVE] (RFC 4978 section 3: the
// same mechanism is already active), as Dovecot answers it.

import type { Handler } from '../context.js';

export const compressHandler: Handler = async ({ session }) => {
  if (session.io.compressed) return { status: 'NO', code: { kind: 'COMPRESSIONACTIVE' }, text: 'DEFLATE is already active' };
  return { status: 'OK', text: 'DEFLATE active', after: 'compress' };
};
