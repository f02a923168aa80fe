// One error type for every configuration problem. Its message is always ONE
// line naming the setting and where the bad value came from, so an operator
// sees at a glance what to fix:
//   config: imap.listen (from PETREL_IMAP_LISTEN): expected host:port, got "localhost"

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** Dotted setting name ("imap.listen"), or null for file-level problems. */
    readonly setting: string | null = null,
    /** Where the value came from: a file path, an env variable, or "default". */
    readonly source: string | null = null,
  ) {
    super(message);
  }
}

/** Formats the one-line message for a bad setting. */
export function settingError(setting: string, source: string, problem: string): ConfigError {
  return new ConfigError(`config: ${setting} (from ${source}): ${oneLine(problem)}`, setting, source);
}

export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}
