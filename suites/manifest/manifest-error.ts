/** A manifest that cannot be read or validated, positioned at the bad field. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';

  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly reason: string,
    /** Dotted path of the bad field, e.g. `requires.codecs.0`; empty for syntax errors. */
    readonly field = '',
  ) {
    super(`${file}:${line}:${column}: ${field === '' ? '' : `field ${field}: `}${reason}`);
  }
}
