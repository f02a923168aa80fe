// Runs the BlobStore conformance suite against the filesystem backend.

import { after } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FsBlobStore } from '../../src/blob/fs/fs-blob-store.js';
import { blobStoreConformance } from './blobstore-suite.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petrel-fsblob-conf-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

blobStoreConformance('fs', async () => new FsBlobStore(dir));
