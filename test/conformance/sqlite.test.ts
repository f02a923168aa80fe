// Runs the MailStore conformance suite against the SQLite backend (with the
// filesystem BlobStore beside it, as in embedded mode).

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openSqliteHandle } from './backends.js';
import { mailStoreConformance } from './mailstore-suite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-sqlite-conf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

mailStoreConformance('sqlite', () => openSqliteHandle(dir));
