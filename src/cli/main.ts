// The `petrel` command: `serve` plus the admin commands (src/admin), with
// one-line errors on stderr and sysexits-style exit codes.

import { ADMIN_COMMANDS, adminErrorFrom } from '../admin/commands.js';
import { AdminError, EXIT, type AdminCommand, type AdminContext } from '../admin/types.js';
import type { Repositories } from '../mail/repository.js';
import { ConfigError } from '../config/errors.js';
import { configFilePath, loadConfig } from '../config/load.js';
import type { PetrelConfig } from '../config/types.js';
import { parseCommandArgs, synopsis } from './args.js';
import { controlSocketSender, ForwardingEventBus } from './forwarding-bus.js';
import { render } from './output.js';
import { readNewPassword } from './prompt.js';
import { openRepositories } from './repository.js';
import { migrateRepositoryAt, migrateSchema, notifySender } from './cluster.js';

const SERVE_SUMMARY = 'run the IMAP and LMTP servers on the data directory (stops on SIGTERM/SIGINT)';

export function helpText(): string {
  const rows: Array<[string, string]> = [['petrel serve [--config FILE]', SERVE_SUMMARY]];
  for (const c of ADMIN_COMMANDS) rows.push([synopsis(c.name, c.params), c.summary]);
  rows.push(['petrel help', 'show this help']);
  const width = Math.max(...rows.map(([s]) => s.length));
  return [
    'Petrel: an IMAP4rev2 mail server.',
    '',
    'Usage:',
    ...rows.map(([s, d]) => `  ${s.padEnd(width)}  ${d}`),
    '',
    'Every command accepts --config FILE (default: ./petrel.toml or $PETREL_CONFIG); list commands accept --json.',
    'Settings can be overridden with PETREL_* environment variables, e.g. PETREL_DATA_DIR (see petrel.example.toml).',
    '',
  ].join('\n');
}

function findCommand(argv: string[]): { command: AdminCommand; rest: string[] } | null {
  for (const command of ADMIN_COMMANDS) {
    if (command.name.every((word, i) => argv[i] === word)) return { command, rest: argv.slice(command.name.length) };
  }
  return null;
}

function fail(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(err.message + '\n');
    return EXIT.FAILURE;
  }
  const adminError = adminErrorFrom(err, 'error');
  process.stderr.write(`petrel: ${adminError.message}\n`);
  return adminError.exitCode;
}

export async function main(argv: string[]): Promise<void> {
  process.exitCode = await run(argv).catch(fail);
}

async function run(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(helpText());
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === 'serve') {
    const parsed = parseCommandArgs(null, ['serve'], argv.slice(1));
    if (parsed.help) {
      process.stdout.write(`petrel serve [--config FILE]\n  ${SERVE_SUMMARY}\n`);
      return EXIT.OK;
    }
    const config = loadConfig({ file: parsed.config, env: process.env });
    // Loaded only here: admin commands need not load the IMAP server.
    const { serve } = await import('./serve.js');
    return serve(config);
  }
  const found = findCommand(argv);
  if (!found) {
    const known = ADMIN_COMMANDS.some((c) => c.name[0] === first);
    throw new AdminError(
      known ? `unknown ${first} command ${JSON.stringify(argv[1] ?? '')}; see petrel help` : `unknown command ${JSON.stringify(first)}; see petrel help`,
      EXIT.USAGE,
    );
  }
  const { command, rest } = found;
  const parsed = parseCommandArgs(command, command.name, rest);
  if (parsed.help) {
    process.stdout.write(`${synopsis(command.name, command.params)}\n  ${command.summary}\n`);
    for (const p of command.params) process.stdout.write(`    ${p.positional ? p.name.toUpperCase() : '--' + p.name}: ${p.description}\n`);
    return EXIT.OK;
  }
  const options = { file: parsed.config, env: process.env };
  const config = loadConfig(options);
  return runAdmin(command, parsed.values, parsed.json, config, configFilePath(options));
}

async function runAdmin(
  command: AdminCommand,
  values: Record<string, string | boolean | undefined>,
  json: boolean,
  config: PetrelConfig,
  configFile: string | null,
): Promise<number> {
  // Changes reach running servers over the control socket (embedded) or NOTIFY
  // on the database of the repository they concern (PostgreSQL).
  const cluster = config.storage.backend === 'postgres';
  const events = new ForwardingEventBus(cluster ? notifySender(config, config.storage.postgresUrl ?? '') : controlSocketSender(config.dataDir));
  const repositoryBuses: ForwardingEventBus[] = [];
  let repos: Repositories | null = null;
  const ctx: AdminContext = {
    config,
    configFile,
    events,
    sendEvents: () => events.flush(),
    async repositories(): Promise<Repositories> {
      repos ??= await openRepositories(config, {
        applicationName: 'petrel-cli',
        eventsFor: async ({ url }) => {
          // The default repository's database is the directory's: its events go on `events`.
          if (!cluster || url === null || url === config.storage.postgresUrl) return events;
          const bus = new ForwardingEventBus(notifySender(config, url));
          repositoryBuses.push(bus);
          return bus;
        },
      });
      return repos;
    },
    migrateSchema: () => migrateSchema(config),
    migrateRepository: (url) => migrateRepositoryAt(config, url),
    readNewPassword: () => readNewPassword(),
    input: () => process.stdin,
    warn: (text) => process.stderr.write(`petrel: warning: ${text}\n`),
  };
  try {
    const output = await command.run(ctx, values as never);
    process.stdout.write(render(output, json));
  } catch (err) {
    const isDeliver = command.name[0] === 'deliver';
    const adminError = adminErrorFrom(err, command.name.join(' '));
    // An LDA must never bounce mail for our own failures: unexpected errors are temporary.
    if (isDeliver && (adminError.exitCode === EXIT.SOFTWARE || adminError.exitCode === EXIT.FAILURE)) throw new AdminError(adminError.message, EXIT.TEMPFAIL);
    throw adminError;
  } finally {
    await (repos as Repositories | null)?.close();
  }
  for (const bus of [events, ...repositoryBuses]) {
    await bus.flush();
    await bus.close();
  }
  return EXIT.OK;
}
