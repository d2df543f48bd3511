/** A configuration value that cannot be used; `source` says where it came from (env var or file path). */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    detail: string,
  ) {
    super(`Invalid configuration in ${source}, field "${field}": ${detail}`);
    this.name = 'ConfigError';
  }
}
