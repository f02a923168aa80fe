import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfig } from '../../../src/config/index.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'petrel-config-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('defaultConfig', () => {
  test('has the documented defaults', () => {
    const c = defaultConfig();
    assert.equal(c.dataDir, './data');
    assert.deepEqual(c.imap.listen, { host: '127.0.0.1', port: 1143 });
    assert.equal(c.imap.tlsListen, null);
    assert.deepEqual(c.lmtp.listen, { host: '127.0.0.1', port: 2424 });
    assert.equal(c.imap.idleKeepaliveSeconds, 120);
    assert.equal(c.server.workers, 1);
    assert.deepEqual(
      c.imap.defaultMailboxes.map((m) => [m.name, m.specialUse, m.subscribe]),
      [
        ['Drafts', '\\Drafts', true],
        ['Sent', '\\Sent', true],
        ['Trash', '\\Trash', true],
        ['Junk', '\\Junk', true],
        ['Archive', '\\Archive', true],
      ],
    );
    assert.equal(c.limits.maxLineLength, 65536);
    assert.equal(c.limits.maxMessageSize, 64 * 1024 * 1024);
    assert.equal(c.limits.maxMemoryLiteral, 65536);
    assert.equal(c.limits.maxConnections, 10000);
    assert.equal(c.limits.maxConnectionsPerUser, 50);
    assert.equal(c.limits.maxConnectionsPerIp, 100);
    assert.equal(c.limits.idleTimeoutSeconds, 1800);
    assert.equal(c.limits.preAuthTimeoutSeconds, 60);
    assert.equal(c.limits.authFailuresPerWindow, 5);
    assert.equal(c.limits.authFailureWindowSeconds, 300);
    assert.equal(c.limits.maxAppendMessages, 100);
    assert.deepEqual(c.storage, {
      fsync: true,
      expungedRetentionSeconds: 3600,
      gcIntervalSeconds: 600,
      backend: 'sqlite',
      postgresUrl: null,
      blobStore: 'fs',
      inlineBodyMaxBytes: 65536,
      postgresPoolSize: 10,
      postgresConnectTimeoutSeconds: 10,
      postgresStatementTimeoutSeconds: 60,
      autoMigrate: false,
      sharedRepository: 'default',
      postgresReplicaUrls: [],
      replicaMaxLagSeconds: 10,
      replicaCheckIntervalMs: 500,
      postgresPromotionUidvalidity: 'seen',
    });
    assert.deepEqual(c.metrics, { listen: null });
    assert.equal(c.imap.idlePollSeconds, 0);
    assert.equal(c.log.level, 'info');
  });

  test('loadConfig with nothing gives the defaults (plaintext auth allowed: loopback, no TLS)', async () => {
    await withDir(async (dir) => {
      const c = loadConfig({ env: {}, cwd: dir });
      assert.deepEqual(c, defaultConfig());
      assert.equal(c.imap.allowPlaintextAuth, true);
    });
  });
});

describe('loadConfig: file', () => {
  test('reads petrel.toml from the working directory', async () => {
    await withDir(async (dir) => {
      await writeFile(
        join(dir, 'petrel.toml'),
        [
          'data_dir = "/var/lib/petrel"',
          'hostname = "mail.example.org"',
          '[imap]',
          'listen = "[::1]:143"',
          'idle_keepalive_seconds = 300',
          '[[imap.default_mailboxes]]',
          'name = "Sent Items"',
          'special_use = "\\\\Sent"',
          '[lmtp]',
          'listen = "off"',
          'recipient_delimiter = "-"',
          '[limits]',
          'max_message_size = 1_048_576',
          '[storage]',
          'fsync = false',
          '[log]',
          'level = "debug"',
        ].join('\n'),
      );
      const c = loadConfig({ env: {}, cwd: dir });
      assert.equal(c.dataDir, '/var/lib/petrel');
      assert.equal(c.hostname, 'mail.example.org');
      assert.deepEqual(c.imap.listen, { host: '::1', port: 143 });
      assert.equal(c.imap.idleKeepaliveSeconds, 300);
      assert.deepEqual(c.imap.defaultMailboxes, [{ name: 'Sent Items', specialUse: '\\Sent', subscribe: true }]);
      assert.equal(c.lmtp.listen, null);
      assert.equal(c.lmtp.recipientDelimiter, '-');
      assert.equal(c.limits.maxMessageSize, 1048576);
      assert.equal(c.storage.fsync, false);
      assert.equal(c.log.level, 'debug');
    });
  });

  test('explicit file wins over PETREL_CONFIG and ./petrel.toml', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'petrel.toml'), 'hostname = "cwd"');
      await writeFile(join(dir, 'env.toml'), 'hostname = "env"');
      await writeFile(join(dir, 'flag.toml'), 'hostname = "flag"');
      assert.equal(loadConfig({ env: {}, cwd: dir }).hostname, 'cwd');
      assert.equal(loadConfig({ env: { PETREL_CONFIG: join(dir, 'env.toml') }, cwd: dir }).hostname, 'env');
      const c = loadConfig({ file: join(dir, 'flag.toml'), env: { PETREL_CONFIG: join(dir, 'env.toml') }, cwd: dir });
      assert.equal(c.hostname, 'flag');
    });
  });

  test('non-loopback listener without explicit setting disables plaintext auth', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'petrel.toml'), '[imap]\nlisten = "0.0.0.0:143"\n');
      assert.equal(loadConfig({ env: {}, cwd: dir }).imap.allowPlaintextAuth, false);
      const explicit = loadConfig({ env: { PETREL_ALLOW_PLAINTEXT_AUTH: 'yes' }, cwd: dir });
      assert.equal(explicit.imap.allowPlaintextAuth, true);
    });
  });
});

describe('loadConfig: environment', () => {
  test('overrides file values', async () => {
    await withDir(async (dir) => {
      await writeFile(join(dir, 'petrel.toml'), 'data_dir = "/from/file"\n[limits]\nmax_line_length = 8192\n');
      const cert = join(dir, 'cert.pem');
      const key = join(dir, 'key.pem');
      await writeFile(cert, 'cert');
      await writeFile(key, 'key');
      const c = loadConfig({
        cwd: dir,
        env: {
          PETREL_DATA_DIR: '/from/env',
          PETREL_HOSTNAME: 'h.example',
          PETREL_IMAP_LISTEN: '127.0.0.1:0',
          PETREL_IMAPS_LISTEN: '0.0.0.0:993',
          PETREL_LMTP_LISTEN: '[::]:24',
          PETREL_TLS_CERT: cert,
          PETREL_TLS_KEY: key,
          PETREL_LOG_LEVEL: 'warn',
          PETREL_LIMITS_MAX_LINE_LENGTH: '16384',
          PETREL_LIMITS_AUTH_FAILURES_PER_WINDOW: '3',
          PETREL_STORAGE_FSYNC: 'false',
          PETREL_LMTP_RECIPIENT_DELIMITER: '',
          PETREL_SERVER_WORKERS: '4',
          PETREL_UNRELATED: 'ignored',
        },
      });
      assert.equal(c.dataDir, '/from/env');
      assert.equal(c.hostname, 'h.example');
      assert.deepEqual(c.imap.listen, { host: '127.0.0.1', port: 0 });
      assert.deepEqual(c.imap.tlsListen, { host: '0.0.0.0', port: 993 });
      assert.deepEqual(c.lmtp.listen, { host: '::', port: 24 });
      assert.deepEqual(c.tls, { certFile: cert, keyFile: key });
      assert.equal(c.log.level, 'warn');
      assert.equal(c.limits.maxLineLength, 16384);
      assert.equal(c.limits.authFailuresPerWindow, 3);
      assert.equal(c.storage.fsync, false);
      assert.equal(c.server.workers, 4);
      assert.equal(c.lmtp.recipientDelimiter, '+', 'an empty variable counts as unset');
      assert.equal(c.imap.allowPlaintextAuth, false, 'TLS configured: no plaintext by default');
    });
  });

  test('"off" disables a listener', async () => {
    await withDir(async (dir) => {
      const c = loadConfig({ env: { PETREL_IMAP_LISTEN: 'off', PETREL_LMTP_LISTEN: 'OFF' }, cwd: dir });
      assert.equal(c.imap.listen, null);
      assert.equal(c.lmtp.listen, null);
    });
  });
});

describe('loadConfig: errors are one line naming the setting and its source', () => {
  const cases: Array<[string, Record<string, string>, string]> = [
    ['PETREL_IMAP_LISTEN', { PETREL_IMAP_LISTEN: 'localhost' }, 'config: imap.listen (from PETREL_IMAP_LISTEN): expected host:port, [ipv6]:port or "off", got "localhost"'],
    ['port out of range', { PETREL_LMTP_LISTEN: '127.0.0.1:70000' }, 'config: lmtp.listen (from PETREL_LMTP_LISTEN): port must be from 0 to 65535, got "127.0.0.1:70000"'],
    ['bad boolean', { PETREL_ALLOW_PLAINTEXT_AUTH: 'maybe' }, 'config: imap.allow_plaintext_auth (from PETREL_ALLOW_PLAINTEXT_AUTH): expected true or false, got "maybe"'],
    ['bad integer', { PETREL_LIMITS_MAX_CONNECTIONS: '12abc' }, 'config: limits.max_connections (from PETREL_LIMITS_MAX_CONNECTIONS): expected an integer from 1 to 1000000, got "12abc"'],
    ['integer out of range', { PETREL_LIMITS_MAX_LINE_LENGTH: '10' }, 'config: limits.max_line_length (from PETREL_LIMITS_MAX_LINE_LENGTH): expected an integer from 1024 to 16777216, got "10"'],
    ['no workers', { PETREL_SERVER_WORKERS: '0' }, 'config: server.workers (from PETREL_SERVER_WORKERS): expected an integer from 1 to 64, got "0"'],
    ['bad level', { PETREL_LOG_LEVEL: 'loud' }, 'config: log.level (from PETREL_LOG_LEVEL): expected one of debug, info, warn, error, got "loud"'],
    ['cert without key', { PETREL_TLS_CERT: '/x' }, 'config: tls.cert_file (from PETREL_TLS_CERT): tls.key_file must be set too'],
    ['unreadable cert', { PETREL_TLS_CERT: '/nonexistent/cert.pem', PETREL_TLS_KEY: '/nonexistent/key.pem' }, 'config: tls.cert_file (from PETREL_TLS_CERT): cannot read "/nonexistent/cert.pem": no such file'],
    ['imaps without TLS', { PETREL_IMAPS_LISTEN: '127.0.0.1:993' }, 'config: imap.tls_listen (from PETREL_IMAPS_LISTEN): needs tls.cert_file and tls.key_file'],
  ];
  for (const [name, env, message] of cases) {
    test(name, async () => {
      await withDir(async (dir) => {
        assert.equal(errorOf(() => loadConfig({ env, cwd: dir })).message, message);
      });
    });
  }

  const fileCases: Array<[string, string, (file: string) => string]> = [
    ['unknown key', '[imap]\nlisten = "127.0.0.1:143"\nlisen = "x"\n', (f) => `config: unknown setting "imap.lisen" (from ${f})`],
    ['unknown top-level key', 'colour = "blue"\n', (f) => `config: unknown setting "colour" (from ${f})`],
    ['wrong type', '[limits]\nmax_line_length = "big"\n', (f) => `config: limits.max_line_length (from ${f}): expected an integer from 1024 to 16777216, got "big"`],
    ['section not a table', 'imap = 3\n', (f) => `config: imap (from ${f}): expected a table, got 3`],
    ['boolean as string', '[storage]\nfsync = "yes"\n', (f) => `config: storage.fsync (from ${f}): expected true or false, got "yes"`],
    ['bad special use', '[[imap.default_mailboxes]]\nname = "X"\nspecial_use = "\\\\Bogus"\n', (f) => `config: imap.default_mailboxes[0].special_use (from ${f}): expected one of \\All, \\Archive, \\Drafts, \\Flagged, \\Junk, \\Sent, \\Trash, got "\\\\Bogus"`],
    ['invalid TOML', 'a = [\n', (f) => `config: ${f}: invalid TOML at line 2, column 1: invalid value`],
  ];
  for (const [name, text, message] of fileCases) {
    test(name, async () => {
      await withDir(async (dir) => {
        const file = join(dir, 'bad.toml');
        await writeFile(file, text);
        assert.equal(errorOf(() => loadConfig({ file, env: {}, cwd: dir })).message, message(file));
      });
    });
  }

  test('missing explicit file', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'missing.toml');
      assert.equal(
        errorOf(() => loadConfig({ file, env: {}, cwd: dir })).message,
        `config: cannot read config file "${file}": no such file`,
      );
    });
  });
});
