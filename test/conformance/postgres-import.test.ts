// The import methods of `petrel user move` (mailstore-import.ts) on the
// PostgreSQL backend, on a private PostgreSQL started for this file.

import { after } from 'node:test';
import { startPostgres } from '../support/postgres.js';
import { openPostgresHandle } from './backends.js';
import { makeCtxFactory } from './mailstore-suite.js';
import { mailStoreImportConformance } from './mailstore-import.js';

const pg = await startPostgres();
after(() => pg.stop());
const url = await pg.createDatabase();

const { withCtx } = makeCtxFactory(() => openPostgresHandle(url));
mailStoreImportConformance(withCtx, { hold: true });
