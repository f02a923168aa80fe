// Loads the one configuration: defaults, then the TOML file (petrel.toml in
// the working directory if present, or the file named by --config /
// PETREL_CONFIG), then PETREL_* environment variables (see settings.ts for
// the names). Validation is hand-written: every problem becomes a ConfigError
// with one line naming the setting and where its value came from.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { SpecialUse } from '../mail/types.js';
import { defaultConfig, isLoopbackHost } from './defaults.js';
import { ConfigError, oneLine, settingError } from './errors.js';
import { SECTIONS, SETTINGS, type Setting } from './settings.js';
import type { PetrelConfig } from './types.js';
import { describe, Invalid } from './values.js';

export { ConfigError } from './errors.js';
export { defaultConfig } from './defaults.js';

export interface LoadConfigOptions {
  /** Explicit config file (--config); wins over PETREL_CONFIG and ./petrel.toml. */
  file?: string;
  env: NodeJS.ProcessEnv;
  /** Where to look for petrel.toml; default process.cwd(). */
  cwd?: string;
}

const BY_KEY = new Map(SETTINGS.map((s) => [s.key, s]));
const SPECIAL_USES: readonly SpecialUse[] = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

/** Which file loadConfig would read, or null. */
export function configFilePath(options: LoadConfigOptions): string | null {
  if (options.file) return options.file;
  if (options.env.PETREL_CONFIG) return options.env.PETREL_CONFIG;
  const local = join(options.cwd ?? process.cwd(), 'petrel.toml');
  return existsSync(local) ? local : null;
}

export function loadConfig(options: LoadConfigOptions): PetrelConfig {
  const config = defaultConfig();
  const sources = new Map<string, string>();

  const file = configFilePath(options);
  if (file !== null) applyFile(config, sources, file);
  applyEnv(config, sources, options.env);

  if (!sources.has('imap.allow_plaintext_auth')) {
    // Safe default: plaintext passwords only where they cannot be sniffed and
    // no TLS is on offer (see defaults.ts).
    const listeners = [config.imap.listen, config.imap.tlsListen].filter((a) => a !== null);
    config.imap.allowPlaintextAuth = config.tls.certFile === null && listeners.every((a) => isLoopbackHost(a.host));
  }
  checkTls(config, sources);
  checkStorage(config, sources);
  checkMetadataLimits(config, sources);
  return config;
}

/** A METADATA value arrives as one literal held in memory, so it cannot be larger than those. */
function checkMetadataLimits(config: PetrelConfig, sources: Map<string, string>): void {
  const { maxMetadataValueSize, maxMemoryLiteral } = config.limits;
  if (maxMetadataValueSize > maxMemoryLiteral) {
    const key = 'limits.max_metadata_value_size';
    throw settingError(key, sources.get(key) ?? 'default', `must not exceed limits.max_memory_literal (${maxMemoryLiteral})`);
  }
}

/** The backend settings must agree; the blob store defaults to the backend's own kind. */
function checkStorage(config: PetrelConfig, sources: Map<string, string>): void {
  const from = (key: string): string => sources.get(key) ?? 'default';
  const s = config.storage;
  if (!sources.has('storage.blob_store')) s.blobStore = s.backend === 'postgres' ? 'postgres' : 'fs';
  // The embedded in-process bus cannot lose an event: IDLE need not poll (a timer and change-log reads less per idle session).
  if (!sources.has('imap.idle_poll_seconds') && s.backend === 'postgres') config.imap.idlePollSeconds = 30;
  if (s.backend === 'postgres' && s.postgresUrl === null) {
    throw settingError('storage.backend', from('storage.backend'), 'postgres needs storage.postgres_url (or PETREL_STORAGE_POSTGRES_URL)');
  }
  if (s.blobStore === 'postgres' && s.backend !== 'postgres') {
    throw settingError('storage.blob_store', from('storage.blob_store'), 'postgres blobs need storage.backend = "postgres"');
  }
}

function applyFile(config: PetrelConfig, sources: Map<string, string>, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`config: cannot read config file ${JSON.stringify(file)}: ${errnoText(e)}`, null, file);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const reason = e.message.split('\n')[0]!.replace(/^Invalid TOML document:\s*/, '');
      throw new ConfigError(`config: ${file}: invalid TOML at line ${e.line}, column ${e.column}: ${reason}`, null, file);
    }
    throw e;
  }
  for (const [key, value] of Object.entries(doc)) {
    if ((SECTIONS as readonly string[]).includes(key)) {
      if (!isTable(value)) throw settingError(key, file, `expected a table, got ${describe(value)}`);
      for (const [sub, subValue] of Object.entries(value)) {
        const name = `${key}.${sub}`;
        if (name === 'imap.default_mailboxes') {
          config.imap.defaultMailboxes = parseDefaultMailboxes(subValue, file);
          sources.set(name, file);
        } else applyValue(config, sources, lookup(name, file), subValue, file, false);
      }
    } else {
      applyValue(config, sources, lookup(key, file), value, file, false);
    }
  }
}

function lookup(key: string, source: string): Setting {
  const setting = BY_KEY.get(key);
  if (!setting) throw new ConfigError(`config: unknown setting ${JSON.stringify(key)} (from ${source})`, key, source);
  return setting;
}

function applyEnv(config: PetrelConfig, sources: Map<string, string>, env: NodeJS.ProcessEnv): void {
  for (const setting of SETTINGS) {
    const raw = env[setting.env];
    if (raw === undefined || raw === '') continue;
    applyValue(config, sources, setting, raw, setting.env, true);
  }
}

function applyValue(
  config: PetrelConfig,
  sources: Map<string, string>,
  setting: Setting,
  raw: unknown,
  source: string,
  fromEnv: boolean,
): void {
  let value: unknown;
  try {
    value = setting.parse(raw, fromEnv);
  } catch (e) {
    if (e instanceof Invalid) throw settingError(setting.key, source, e.message);
    throw e;
  }
  setting.set(config, value);
  sources.set(setting.key, source);
}

function parseDefaultMailboxes(raw: unknown, source: string): PetrelConfig['imap']['defaultMailboxes'] {
  const key = 'imap.default_mailboxes';
  if (!Array.isArray(raw)) throw settingError(key, source, `expected an array of tables, got ${describe(raw)}`);
  return raw.map((entry, i) => {
    const at = `${key}[${i}]`;
    if (!isTable(entry)) throw settingError(at, source, `expected a table, got ${describe(entry)}`);
    for (const field of Object.keys(entry)) {
      if (!['name', 'special_use', 'subscribe'].includes(field)) {
        throw new ConfigError(`config: unknown setting ${JSON.stringify(`${at}.${field}`)} (from ${source})`, at, source);
      }
    }
    const { name, special_use: specialUse = null, subscribe = true } = entry;
    if (typeof name !== 'string' || name.length === 0) {
      throw settingError(`${at}.name`, source, `expected a non-empty string, got ${describe(name)}`);
    }
    if (specialUse !== null && specialUse !== '' && !SPECIAL_USES.includes(specialUse as SpecialUse)) {
      throw settingError(`${at}.special_use`, source, `expected one of ${SPECIAL_USES.join(', ')}, got ${describe(specialUse)}`);
    }
    if (typeof subscribe !== 'boolean') {
      throw settingError(`${at}.subscribe`, source, `expected true or false, got ${describe(subscribe)}`);
    }
    return { name, specialUse: specialUse === '' ? null : (specialUse as string | null), subscribe };
  });
}

function checkTls(config: PetrelConfig, sources: Map<string, string>): void {
  const from = (key: string): string => sources.get(key) ?? 'default';
  const { certFile, keyFile } = config.tls;
  if ((certFile === null) !== (keyFile === null)) {
    const missing = certFile === null ? 'tls.cert_file' : 'tls.key_file';
    const given = certFile === null ? 'tls.key_file' : 'tls.cert_file';
    throw settingError(given, from(given), `${missing} must be set too`);
  }
  for (const [key, path] of [
    ['tls.cert_file', certFile],
    ['tls.key_file', keyFile],
  ] as const) {
    if (path === null) continue;
    try {
      readFileSync(resolve(path));
    } catch (e) {
      throw settingError(key, from(key), `cannot read ${JSON.stringify(path)}: ${errnoText(e)}`);
    }
  }
  if (config.imap.tlsListen !== null && certFile === null) {
    throw settingError('imap.tls_listen', from('imap.tls_listen'), 'needs tls.cert_file and tls.key_file');
  }
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ENOENT') return 'no such file';
  if (err.code === 'EACCES') return 'permission denied';
  if (err.code === 'EISDIR') return 'is a directory';
  return oneLine(err.message ?? String(e));
}
