/** Where in a config file a bad value is written. */
export interface ConfigPosition {
  line: number;
  column: number;
}

/**
 * A configuration value that cannot be used; `source` says where it came from (env var or file path), and
 * for a file `position` the line and column.
 */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
    readonly position?: ConfigPosition,
  ) {
    const where = position ? `${source}:${position.line}:${position.column}` : source;
    super(`Invalid configuration in ${where}, field "${field}": ${detail}`);
    this.name = 'ConfigError';
  }
}
