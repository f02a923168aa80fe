// test/e2e/streaming.test.ts again on PostgreSQL, blobs included (the
// backend's default blob store): APPEND + FETCH of a 200 MB message within
// +128 MB of peak RSS (the file blob store: +64 MB; see ../streaming.test.ts).

import { after } from 'node:test';
import { stopTestPostgres } from '../harness.js';

process.env.PETREL_TEST_BACKEND = 'postgres';
await import('../streaming.test.js');
// After the file's own hooks have stopped its servers.
after(stopTestPostgres);
