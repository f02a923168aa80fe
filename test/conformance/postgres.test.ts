// Runs the MailStore conformance suite against the PostgreSQL backend, on a
// private PostgreSQL started for this file, with the PostgreSQL BlobStore
// beside it (as in a cluster). Each open() is a new pool on the same database.

import { after } from 'node:test';
import { startPostgres } from '../support/postgres.js';
import { openPostgresHandle } from './backends.js';
import { mailStoreConformance } from './mailstore-suite.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();

mailStoreConformance('postgres', () => openPostgresHandle(url));
