// test/e2e/streaming.test.ts again on PostgreSQL, blobs included (the
// backend's default blob store): APPEND + FETCH of a 200 MB message within
// the same +64 MB peak RSS budget as the file blob store (issue 6).

import { after } from 'node:test';
import { stopTestPostgres } from '../harness.js';

process.env.PETREL_TEST_BACKEND = 'postgres';
await import('../streaming.test.js');
// After the file's own hooks have stopped its servers.
after(stopTestPostgres);
