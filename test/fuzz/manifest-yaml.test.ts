import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { isManifestTest, loadManifestText, parseManifest } from '../../suites/manifest/load-manifest.ts';
import { ManifestError } from '../../suites/manifest/manifest-error.ts';
import { FUZZ_LIMITS, HOSTILE_YAML, mutatedDocument, randomDocument } from './yaml-fuzz.ts';

/** A valid manifest using every field, requirements included. */
const VALID = `# conformance group, every field set
id: stb.conformance.media
title: "Media group: codecs \\u00e9 \u{1F4FA}"
tags: [conformance, stb]
component: platform-media
owner: platform-team
priority: 2
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, media]
env:
  CONFORMANCE_GROUP: media
  VERBOSE: 1
  DRY: false
timeoutMs: 120000
retries: 1
requires:
  codecs: [h264, hevc]
  hdr: false
  drm: { system: widevine, level: L3 }
  minResolution: 720p
  minMemoryMb: 256
  input: dpad
  drivers: [docker]
results: /results/junit.xml
`;

const FILE = 'suites/fuzz/média group.manifest.yaml';

let lastError: ManifestError | undefined;

/**
 * The property: a manifest parses into a docker test definition, or the parser throws a ManifestError at
 * FILE:line:column (inside the document) with a reason, naming the field for schema problems. Anything
 * else thrown escapes and fails the property with the offending document.
 */
function outcome(text: string): 'ok' | 'manifest-error' {
  lastError = undefined;
  let definition: ReturnType<typeof loadManifestText>;
  try {
    definition = loadManifestText(text, FILE);
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    checkError(err, text);
    lastError = err;
    return 'manifest-error';
  }
  expect(isManifestTest(definition)).toBe(true);
  expect(definition.id).toMatch(/^[a-z0-9][a-z0-9._/-]*$/);
  expect(definition.requires.drivers).toContain('docker');
  expect(definition.container.command.length).toBeGreaterThan(0);
  expect(definition.container.results.startsWith('/')).toBe(true);
  for (const value of Object.values(definition.container.env)) expect(typeof value).toBe('string');
  return 'ok';
}

function checkError(err: ManifestError, text: string): void {
  expect(err.name).toBe('ManifestError');
  expect(err.file).toBe(FILE);
  const lines = text.split('\n');
  expect(Number.isInteger(err.line) && err.line >= 1 && err.line <= lines.length).toBe(true);
  expect(Number.isInteger(err.column) && err.column >= 1).toBe(true);
  expect(err.column).toBeLessThanOrEqual(lines[err.line - 1]!.length + 1);
  expect(err.reason.length).toBeGreaterThan(0);
  expect(err.message.startsWith(`${FILE}:${err.line}:${err.column}: `)).toBe(true);
  if (err.field !== '') expect(err.message).toContain(`field ${err.field}: `);
}

function errorOf(text: string): ManifestError {
  try {
    parseManifest(text, 'x.manifest.yaml');
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
  throw new Error('expected a ManifestError');
}

describe('container manifest YAML fuzzing (fast-check)', FUZZ_LIMITS, () => {
  it('the seed manifest loads', () => {
    expect(outcome(VALID)).toBe('ok');
  });

  it('regressions: aliases and merges the YAML value conversion rejects are ManifestErrors', () => {
    for (const text of HOSTILE_YAML) expect(outcome(text)).toBe('manifest-error');
    const unresolved = errorOf('id: x\ntags: [a, *nope]\n');
    expect([unresolved.line, unresolved.column]).toEqual([2, 11]);
    expect(unresolved.reason).toMatch(/alias/i);
    const merge = errorOf('%YAML 1.1\n---\nid: x\n<<: 5\n');
    expect([merge.line, merge.column]).toEqual([4, 5]);
    expect(merge.reason).toMatch(/merge/i);
    const bomb = errorOf(HOSTILE_YAML[5]!);
    expect(bomb.line).toBeGreaterThan(1);
    expect(bomb.reason).toMatch(/alias/i);
  });

  it('mutated manifests (text and structural edits) load or give a ManifestError at file:line:column', () => {
    const seen = { ok: 0, 'manifest-error': 0 };
    const fields = new Set<string>();
    fc.assert(
      fc.property(mutatedDocument(VALID, parse(VALID)), (text) => {
        seen[outcome(text)]++;
        if (lastError) fields.add(lastError.field.split('.')[0]!);
      }),
      { numRuns: 10_000 },
    );
    // Both outcomes occur, and the edits reached fields throughout the manifest, not only the first one.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen['manifest-error']).toBeGreaterThan(0);
    expect(fields.size).toBeGreaterThan(8);
  });

  it('YAML-looking token soup, arbitrary strings and hostile documents give a ManifestError at most', () => {
    fc.assert(
      fc.property(randomDocument(VALID), (text) => {
        outcome(text);
      }),
      { numRuns: 10_000 },
    );
  });
});
