// The import methods of `petrel user move` (mailstore-import.ts) on the
// SQLite backend, with the filesystem BlobStore beside it.

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteHandle } from './backends.js';
import { makeCtxFactory } from './mailstore-suite.js';
import { mailStoreImportConformance } from './mailstore-import.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-sqlite-import-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const { withCtx } = makeCtxFactory(() => openSqliteHandle(dir));
mailStoreImportConformance(withCtx, { hold: false });
