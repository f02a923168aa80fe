// Turns argv into (command, typed parameter values) with node:util parseArgs,
// from the commands' declarations. No dependency.

import { parseArgs, type ParseArgsConfig } from 'node:util';
import { AdminError, EXIT, type AdminCommand, type ParamSpec } from '../admin/types.js';

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ParsedCommand {
  values: Record<string, string | boolean | undefined>;
  config: string | undefined;
  json: boolean;
  help: boolean;
}

export function synopsis(name: readonly string[], params: readonly ParamSpec[]): string {
  const parts = ['petrel', ...name];
  for (const p of params) {
    if (p.positional) parts.push(p.required ? p.name.toUpperCase() : `[${p.name.toUpperCase()}]`);
  }
  for (const p of params) {
    if (!p.positional) parts.push(p.type === 'boolean' ? `[--${p.name}]` : `[--${p.name} ${valueHint(p)}]`);
  }
  return parts.join(' ');
}

function valueHint(p: ParamSpec): string {
  return p.name === 'special-use' ? '\\Sent' : p.name.toUpperCase().replace(/-/g, '_');
}

/** Parses the arguments that follow the command words. */
export function parseCommandArgs(command: AdminCommand | null, name: readonly string[], args: string[]): ParsedCommand {
  const params = command?.params ?? [];
  const options: NonNullable<ParseArgsConfig['options']> = { ...COMMON_OPTIONS };
  for (const p of params) if (!p.positional) options[p.name] = { type: p.type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const reason = (err as Error).message.split('. ')[0]!.replace(/\.$/, '');
    throw new AdminError(`${reason}; usage: ${synopsis(name, params)}`, EXIT.USAGE);
  }
  const raw = parsed.values as Record<string, string | boolean | undefined>;
  const result: ParsedCommand = {
    values: {},
    config: typeof raw.config === 'string' ? raw.config : undefined,
    json: raw.json === true,
    help: raw.help === true,
  };
  if (result.help) return result;
  const positionalSpecs = params.filter((p) => p.positional);
  const positionals = parsed.positionals;
  if (positionals.length > positionalSpecs.length) {
    throw new AdminError(`unexpected argument ${JSON.stringify(positionals[positionalSpecs.length])}; usage: ${synopsis(name, params)}`, EXIT.USAGE);
  }
  positionalSpecs.forEach((p, i) => {
    const value = positionals[i];
    if (value === undefined && p.required) {
      throw new AdminError(`missing ${p.name.toUpperCase()}; usage: ${synopsis(name, params)}`, EXIT.USAGE);
    }
    result.values[p.name] = value;
  });
  for (const p of params) {
    if (p.positional) continue;
    const value = raw[p.name];
    result.values[p.name] = p.type === 'boolean' ? value === true : (value as string | undefined);
  }
  return result;
}
