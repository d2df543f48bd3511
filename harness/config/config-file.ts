import { parseDocument } from 'yaml';
import { lineCounterOf, yamlValue } from '../../devices/yaml-value.ts';
import { positionOf, type YamlPosition } from '../../suites/manifest/yaml-positions.ts';
import { ConfigError } from './config-error.ts';

/** The settings of a config file, and where each of them is written (for errors). */
export interface ConfigFileLayer {
  settings: Record<string, unknown>;
  /** Line and column of the value at `path` (of the key `key` under it, for an unknown key). */
  positionOf(path: readonly PropertyKey[], key?: string): YamlPosition;
}

/** Parses a `devlab.config.yaml`; malformed YAML or a document that is not a mapping is a ConfigError at its line. */
export function readConfigFile(file: string, text: string): ConfigFileLayer {
  const lineCounter = lineCounterOf(text);
  const at = (offset: number): YamlPosition => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const doc = parseDocument(text, { uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) throw new ConfigError(file, '(file)', syntax.message.split('\n')[0]!, at(syntax.pos[0]));
  const value = yamlValue(doc);
  if (!value.ok) throw new ConfigError(file, '(file)', value.message, at(value.offset));
  if (value.value === null || value.value === undefined) {
    return { settings: {}, positionOf: () => ({ line: 1, column: 1 }) };
  }
  if (typeof value.value !== 'object' || Array.isArray(value.value)) {
    throw new ConfigError(file, '(root)', 'expected a mapping of settings', { line: 1, column: 1 });
  }
  return {
    settings: value.value as Record<string, unknown>,
    positionOf: (path, key) => positionOf(doc, lineCounter, path, key),
  };
}
