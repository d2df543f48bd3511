import { describe, expect, it } from 'vitest';
import { isManifestTest, loadManifestText, parseManifest } from '../../suites/manifest/load-manifest.ts';
import { ManifestError } from '../../suites/manifest/manifest-error.ts';

const VALID = `id: stb.conformance.boot
title: Boots
tags: [conformance]
component: platform-boot
owner: platform-team
priority: 3
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, boot]
env:
  GROUP: boot
  VERBOSE: 1
timeoutMs: 120000
retries: 1
results: /results/junit.xml
`;

function manifestError(text: string): ManifestError {
  try {
    parseManifest(text, 'suites/x/bad.manifest.yaml');
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
  throw new Error('expected a ManifestError');
}

describe('container manifests', () => {
  it('becomes a docker-only test definition carrying its container spec', () => {
    const def = loadManifestText(VALID, 'boot.manifest.yaml');
    expect(isManifestTest(def)).toBe(true);
    expect(def.id).toBe('stb.conformance.boot');
    expect(def.requires.drivers).toEqual(['docker']);
    expect(def.retries).toBe(1);
    expect(def.container).toEqual({
      image: 'devlab/stb-reference:1',
      command: ['/opt/conformance/run.sh', 'boot'],
      env: { GROUP: 'boot', VERBOSE: '1' },
      results: '/results/junit.xml',
    });
    expect(typeof def.body).toBe('function');
  });

  it.each([
    ['a wrong type', VALID.replace('priority: 3', 'priority: high'), 6, 11, 'priority'],
    [
      'a bad list item',
      VALID.replace('command: [/opt/conformance/run.sh, boot]', 'command: [/opt/run.sh, ""]'),
      8,
      24,
      'command.1',
    ],
    ['an unknown field', VALID.replace('retries: 1', 'retries: 1\nimage_tag: x'), 14, 1, 'image_tag'],
    ['a missing field', VALID.replace('command: [/opt/conformance/run.sh, boot]\n', ''), 1, 1, 'command'],
    ['a relative results path', VALID.replace('/results/junit.xml', 'results/junit.xml'), 14, 10, 'results'],
    ['a bad env name', VALID.replace('  GROUP: boot', '  1GROUP: boot'), 10, 3, 'env.1GROUP'],
    ['a non-docker driver', `${VALID}requires:\n  drivers: [appium]\n`, 16, 12, 'requires.drivers'],
    [
      'a bad nested requirement',
      `${VALID}requires:\n  minResolution: 8k\n`,
      16,
      18,
      'requires.minResolution',
    ],
  ])('reports %s at file:line:column', (_label, text, line, column, field) => {
    const err = manifestError(text);
    expect([err.line, err.column, err.field]).toEqual([line, column, field]);
    expect(err.message).toMatch(
      new RegExp(`^suites/x/bad\\.manifest\\.yaml:${line}:${column}: field ${field.replace('.', '\\.')}: `),
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const err = manifestError('id: a\ntitle: [unclosed\n');
    expect(err.line).toBeGreaterThanOrEqual(2);
    expect(err.message).toMatch(/^suites\/x\/bad\.manifest\.yaml:\d+:\d+: /);
  });

  it('explains a bad env name at the key', () => {
    expect(manifestError(VALID.replace('  GROUP: boot', '  1GROUP: boot')).reason).toBe(
      'bad key `1GROUP`: environment names are letters, digits and _',
    );
  });

  it('says a missing field is required', () => {
    expect(manifestError(VALID.replace('owner: platform-team\n', '')).reason).toBe('is required');
  });
});
