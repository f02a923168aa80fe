// test/e2e/crash.test.ts again, every server on PostgreSQL (issue 4: the whole
// end-to-end suite runs on both backends, unchanged; see ../harness.ts).

import { after } from 'node:test';
import { stopTestPostgres } from '../harness.js';

process.env.PETREL_TEST_BACKEND = 'postgres';
await import('../crash.test.js');
// After the file's own hooks have stopped its servers.
after(stopTestPostgres);
