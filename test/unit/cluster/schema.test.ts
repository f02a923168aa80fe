// Schema versions of a PostgreSQL repository: an unmigrated database is
// reported as behind (and refused unless auto_migrate), migrate brings it up.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkPostgresSchema } from '../../../src/cli/repository.js';
import { migrateRepository, outdatedSchemaMessage, repositoryComponents, schemaStatus } from '../../../src/cluster/schema.js';
import { defaultConfig } from '../../../src/config/index.js';
import { startPostgres, type PostgresInstance } from '../../support/postgres.js';

let pg: PostgresInstance;
before(async () => {
  pg = await startPostgres();
});
after(() => pg.stop());

test('an unmigrated database is behind; auto_migrate lets it through; migrate brings it up once', async () => {
  const url = await pg.createDatabase();
  const components = repositoryComponents(true);
  const fresh = await schemaStatus(url, {}, components);
  assert.deepEqual(fresh.map((s) => [s.component, s.current]), [['mailstore', 0], ['blobstore', 0]]);
  assert.match(outdatedSchemaMessage(fresh)!, /^the PostgreSQL schema is older than this Petrel \(mailstore at version 0, .*run `petrel db migrate`/);

  const config = defaultConfig();
  config.storage.backend = 'postgres';
  config.storage.postgresUrl = url;
  config.storage.blobStore = 'postgres';
  await assert.rejects(checkPostgresSchema(config), /petrel db migrate/);
  config.storage.autoMigrate = true;
  await checkPostgresSchema(config);

  const done = await migrateRepository(url, {}, components);
  assert.ok(done.every((d) => d.before === 0 && d.current === d.expected && d.expected >= 1));
  const now = await schemaStatus(url, {}, components);
  assert.equal(outdatedSchemaMessage(now), null);
  config.storage.autoMigrate = false;
  await checkPostgresSchema(config);
  // Metadata only (fs blobs): the blob tables are not required.
  assert.deepEqual(repositoryComponents(false).map((c) => c.component), ['mailstore']);
});
