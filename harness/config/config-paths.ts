import path from 'node:path';
import { ConfigError } from './config-error.ts';
import type { ConfigFileLayer } from './config-file.ts';
import { expandSuiteEntry } from './suite-dirs.ts';

type Layer = Record<string, unknown>;

/** `a, b` (an environment variable) as `['a', 'b']`; anything else as it is. */
export function commaList(value: unknown): unknown {
  return typeof value === 'string'
    ? value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean)
    : value;
}

/**
 * The paths a layer names, made absolute against `baseDir` (the config file's folder, or the working
 * directory for environment variables); `suites` globs expanded into the folders they match.
 */
export function resolvePaths(layer: Layer, baseDir: string, source: string, file?: ConfigFileLayer): Layer {
  const out: Layer = { ...layer };
  if (typeof layer['home'] === 'string') out['home'] = path.resolve(baseDir, layer['home']);
  if (typeof layer['inventory'] === 'string') out['inventory'] = path.resolve(baseDir, layer['inventory']);
  const suites = commaList(layer['suites']);
  if (Array.isArray(suites)) {
    out['suites'] = suites.flatMap((entry: string, index) => {
      const dirs = expandSuiteEntry(entry, baseDir);
      if (dirs.length === 0) {
        throw new ConfigError(
          source,
          `suites.${index}`,
          `"${entry}" ${/[*?[{]/.test(entry) ? 'matches no folder' : 'is not a folder'} (relative to ${baseDir})`,
          file?.positionOf(['suites', index]),
        );
      }
      return dirs;
    });
  }
  return out;
}
