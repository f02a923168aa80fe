// Parsers for setting values. Each takes what the TOML file gave (string,
// number, boolean, ...) or, from the environment, a string, and returns the
// typed value or throws Invalid("expected ..., got ...").

import type { ListenAddress } from './types.js';

export class Invalid extends Error {}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return value instanceof Date ? 'a date' : 'a table';
  return String(value);
}

export type ValueParser<T> = (raw: unknown, fromEnv: boolean) => T;

export const nonEmptyString: ValueParser<string> = (raw) => {
  if (typeof raw !== 'string' || raw.length === 0) throw new Invalid(`expected a non-empty string, got ${describe(raw)}`);
  return raw;
};

/** A string that may be empty (e.g. the recipient delimiter, "" disables it). */
export function shortString(maxLength: number): ValueParser<string> {
  return (raw) => {
    if (typeof raw !== 'string' || raw.length > maxLength || /[\s@]/.test(raw)) {
      throw new Invalid(`expected at most ${maxLength} non-space characters other than "@", got ${describe(raw)}`);
    }
    return raw;
  };
}

/** A file path; an empty string means "not set". */
export const optionalPath: ValueParser<string | null> = (raw) => {
  if (raw === '' || raw === false) return null;
  if (typeof raw !== 'string') throw new Invalid(`expected a file path, got ${describe(raw)}`);
  return raw;
};

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export const boolean: ValueParser<boolean> = (raw, fromEnv) => {
  if (typeof raw === 'boolean') return raw;
  if (fromEnv && typeof raw === 'string') {
    const word = raw.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  throw new Invalid(`expected true or false, got ${describe(raw)}`);
};

export function integer(min: number, max: number): ValueParser<number> {
  return (raw, fromEnv) => {
    let n: number = NaN;
    if (typeof raw === 'number') n = raw;
    else if (fromEnv && typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new Invalid(`expected an integer from ${min} to ${max}, got ${describe(raw)}`);
    }
    return n;
  };
}

export function oneOf<T extends string>(choices: readonly T[]): ValueParser<T> {
  return (raw) => {
    if (typeof raw === 'string' && (choices as readonly string[]).includes(raw)) return raw as T;
    throw new Invalid(`expected one of ${choices.join(', ')}, got ${describe(raw)}`);
  };
}

/**
 * A listening address: "host:port", "[ipv6]:port" or "off" (null). Port 0
 * asks the OS for a free port (tests).
 */
export const listenAddress: ValueParser<ListenAddress | null> = (raw) => {
  if (raw === false) return null;
  if (typeof raw !== 'string') throw new Invalid(`expected host:port or "off", got ${describe(raw)}`);
  const text = raw.trim();
  if (text.toLowerCase() === 'off') return null;
  let host: string;
  let portText: string;
  const bracketed = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else {
    const plain = /^([^\s:[\]]+):(\d{1,5})$/.exec(text);
    if (!plain) throw new Invalid(`expected host:port, [ipv6]:port or "off", got ${describe(raw)}`);
    host = plain[1]!;
    portText = plain[2]!;
  }
  const port = Number(portText);
  if (port > 65535) throw new Invalid(`port must be from 0 to 65535, got ${describe(raw)}`);
  return { host, port };
};

/** Formats an address back to the "host:port" form (for messages and `config check`). */
export function formatListen(address: ListenAddress | null): string {
  if (!address) return 'off';
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/**
 * A PostgreSQL connection URL: postgres:// or postgresql://, possibly with
 * several hosts (postgres://u@h1:5432,h2:5432/db). target_session_attrs=
 * read-write is refused: it accepts a hot standby whose
 * default_transaction_read_only is off; "primary" is what selects the primary
 * (and the only value accepted: servers write, and LISTEN only works there).
 */
export const postgresUrl: ValueParser<string> = (raw) => {
  if (typeof raw !== 'string' || !/^postgres(ql)?:\/\/[^\s]+$/.test(raw.trim())) {
    throw new Invalid(`expected a postgres:// URL, got ${describe(redactUrl(raw))}`);
  }
  const url = raw.trim();
  const tsa = /[?&]target_session_attrs=([^&]*)/.exec(url)?.[1];
  // Servers write (and LISTEN, which a standby never delivers): the primary only.
  if (tsa !== undefined && tsa !== 'primary') {
    throw new Invalid(
      tsa === 'read-write'
        ? 'target_session_attrs=read-write may connect to a hot standby; use target_session_attrs=primary'
        : `target_session_attrs=${tsa}: a server must write to the primary; use target_session_attrs=primary`,
    );
  }
  return url;
};

/**
 * Read replicas' URLs: a TOML array of postgres:// URLs, or (environment)
 * one string of them separated by spaces. Each names one standby; a
 * target_session_attrs other than standby/prefer-standby/any is refused.
 */
export const postgresUrlList: ValueParser<string[]> = (raw) => {
  const items = typeof raw === 'string' ? raw.split(/\s+/).filter((u) => u !== '') : raw;
  if (!Array.isArray(items)) throw new Invalid(`expected a list of postgres:// URLs, got ${describe(redactUrl(raw))}`);
  return items.map((item) => {
    if (typeof item !== 'string' || !/^postgres(ql)?:\/\/\S+$/.test(item.trim()))
      throw new Invalid(`expected postgres:// URLs, got ${describe(redactUrl(item))}`);
    const tsa = /[?&]target_session_attrs=([^&]*)/.exec(item)?.[1];
    if (tsa !== undefined && !['standby', 'prefer-standby', 'any'].includes(tsa))
      throw new Invalid(`a replica URL with target_session_attrs=${tsa} may reach the primary; use standby or leave it out`);
    return item.trim();
  });
};

/** The URL with any password replaced by "***" (for messages and `config check`). */
export function redactUrl<T>(raw: T): T | string {
  if (typeof raw !== 'string') return raw;
  return raw.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, '$1:***@');
}

/** Free text of at most `maxLength` characters on one line; an empty string means "not set". */
export function optionalText(maxLength: number): ValueParser<string | null> {
  return (raw) => {
    if (raw === '') return null;
    if (typeof raw !== 'string' || raw.length > maxLength || /[\x00-\x1f\x7f]/.test(raw)) {
      throw new Invalid(`expected one line of at most ${maxLength} characters, got ${describe(raw)}`);
    }
    return raw;
  };
}

/** An absolute URI such as mailto:postmaster@example.com; an empty string means "not set". */
export const optionalUri: ValueParser<string | null> = (raw) => {
  if (raw === '') return null;
  if (typeof raw !== 'string' || !/^[a-z][a-z0-9+.-]*:\S+$/i.test(raw) || !URL.canParse(raw)) {
    throw new Invalid(`expected a URI such as "mailto:postmaster@example.com", got ${describe(raw)}`);
  }
  return raw;
};
