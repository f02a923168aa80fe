// test/e2e/restart.test.ts again, every server on PostgreSQL (issue 4: the whole
// end-to-end suite runs on both backends, unchanged; see ../harness.ts).

process.env.PETREL_TEST_BACKEND = 'postgres';
await import('../restart.test.js');
