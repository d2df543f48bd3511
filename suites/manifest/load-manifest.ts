import { parseDocument } from 'yaml';
import type { TestDefinition } from '../test-api.ts';
import { assertCasesPassed, type ContainerSpec, runContainerTest } from './container-run.ts';
import { ManifestError } from './manifest-error.ts';
import { type Manifest, manifestSchema } from './manifest-schema.ts';
import { unknownKeyHint } from '../../devices/did-you-mean.ts';
import { lineCounterOf, positionOf, syntaxErrorOffset, yamlValue } from '../../devices/yaml-value.ts';

/** A test defined by a container manifest; `container` tells the harness which image to start. */
export interface ManifestTestDefinition extends TestDefinition {
  container: ContainerSpec;
}

export function isManifestTest(test: TestDefinition): test is ManifestTestDefinition {
  return typeof (test as Partial<ManifestTestDefinition>).container === 'object';
}

/** The image a test's container starts: its manifest's `image`; undefined for the device's own. */
export function testImage(test: TestDefinition): string | undefined {
  return isManifestTest(test) ? test.container.image : undefined;
}

/** Parses and validates manifest YAML; errors are ManifestErrors at file:line:column of the bad field. */
export function parseManifest(text: string, file: string): Manifest {
  const doc = parseDocument(text, { prettyErrors: false });
  const lineCounter = lineCounterOf(text);
  const syntax = doc.errors[0];
  if (syntax !== undefined) {
    const pos = lineCounter.linePos(syntaxErrorOffset(text, syntax));
    throw new ManifestError(file, pos.line, pos.col, syntax.message.split('\n')[0] ?? 'invalid YAML');
  }
  const value = yamlValue(doc);
  if (!value.ok) {
    const pos = lineCounter.linePos(value.offset);
    throw new ManifestError(file, pos.line, pos.col, value.message);
  }
  const parsed = manifestSchema.safeParse(value.value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const pos = positionOf(doc, lineCounter, path, key);
    const hint = unknownKeyHint(manifestSchema, path, key);
    throw new ManifestError(
      file,
      pos.line,
      pos.column,
      `unknown field \`${key}\`${hint}`,
      [...path, key].join('.'),
    );
  }
  if (issue.code === 'invalid_key') {
    const key = String(path.at(-1));
    const pos = positionOf(doc, lineCounter, path.slice(0, -1), key);
    const reason = issue.issues[0]?.message ?? issue.message;
    throw new ManifestError(file, pos.line, pos.column, `bad key \`${key}\`: ${reason}`, path.join('.'));
  }
  const pos = positionOf(doc, lineCounter, path);
  const missing = issue.code === 'invalid_type' && valueAt(value.value, path) === undefined;
  throw new ManifestError(
    file,
    pos.line,
    pos.column,
    missing ? 'is required' : issue.message,
    path.join('.') || '(root)',
  );
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node = root;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[segment];
  }
  return node;
}

/** A manifest as a test: its body execs the command in `ctx.container` and passes when every JUnit case does. */
export function manifestToTest(manifest: Manifest): ManifestTestDefinition {
  const { image, command, env, results, ...meta } = manifest;
  const container: ContainerSpec = { image, command, env, results };
  const requires = { ...meta.requires, drivers: meta.requires.drivers ?? ['docker'] };
  return {
    ...meta,
    requires,
    container,
    body: async (ctx) => {
      const cases = await runContainerTest(ctx, container, meta.timeoutMs);
      assertCasesPassed(cases, ` (${results})`);
    },
  };
}

export function loadManifestText(text: string, file: string): ManifestTestDefinition {
  return manifestToTest(parseManifest(text, file));
}
