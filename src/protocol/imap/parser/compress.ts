// COMPRESS algorithm (RFC 4978 section 5). DEFLATE is the only algorithm
// defined; anything else is a BAD (RFC 4978 section 3: "unknown argument").

import type { CommandParser } from './types.js';

export const compressParsers: Record<string, CommandParser> = {
  COMPRESS: (r) => {
    r.sp('before compression mechanism');
    const algorithm = r.keyword('compression mechanism');
    if (algorithm !== 'DEFLATE') r.fail(`Unsupported compression mechanism ${algorithm}`);
    return { name: 'COMPRESS', algorithm: 'DEFLATE' };
  },
};
