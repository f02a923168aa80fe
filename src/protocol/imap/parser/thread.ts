// THREAD / UID THREAD (RFC 5256 section 3):
//   ["UID" SP] "THREAD" SP thread-alg SP charset 1*(SP search-key)

import type { ThreadAlgorithm } from '../ast.js';
import { charsetArg, searchCriteria } from './sort.js';
import type { CommandParser } from './types.js';

const ALGORITHMS: ReadonlySet<string> = new Set<ThreadAlgorithm>(['ORDEREDSUBJECT', 'REFERENCES', 'REFS']);

export const threadParsers: Record<string, CommandParser> = {
  THREAD: (r, uid) => {
    r.sp('after THREAD');
    const algorithm = r.keyword('threading algorithm');
    if (!ALGORITHMS.has(algorithm)) r.fail(`Unknown threading algorithm ${algorithm}`);
    r.sp('after threading algorithm');
    const charset = charsetArg(r);
    r.sp('after charset');
    return { name: 'THREAD', uid, algorithm: algorithm as ThreadAlgorithm, charset, key: searchCriteria(r) };
  },
};
