// test/e2e/imapflow.test.ts again, every server with two worker processes
// (server.workers = 2: the clients' connections alternate between them; see
// ../harness.ts and ../workers.test.ts).

process.env.PETREL_TEST_WORKERS = '2';
await import('../imapflow.test.js');
