import { describe, expect, it } from 'vitest';
import { InventoryError } from '../../devices/inventory/inventory-error.ts';
import { parseInventory } from '../../devices/inventory/load.ts';
import { ManifestError } from '../../suites/manifest/manifest-error.ts';
import { parseManifest } from '../../suites/manifest/load-manifest.ts';

const DEVICE = `devices:
  - id: tv-1
    name: TV one
    driver: appium
    model: M1
    platform: tizen
    os: Tizen 7
    firmware: "1.0.0"
    host: agent-a
    capabilities:
      codecs: [h264]
      resolution: 1080p
      memoryMb: 1024
      input: [dpad]
    settings:
      server: http://127.0.0.1:4723
      capabilities: { platformName: tizen }
`;

function issuesOf(text: string): InventoryError['issues'] {
  try {
    parseInventory(text, 'lab.yaml');
  } catch (err) {
    if (err instanceof InventoryError) return err.issues;
    throw err;
  }
  throw new Error('expected an InventoryError');
}

/** 1-based line and column of the first `needle` in `text`. */
function positionIn(text: string, needle: string): { line: number; column: number } {
  const lines = text.split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  return { line: line + 1, column: lines[line]!.indexOf(needle) + 1 };
}

describe('inventory errors at the right line, with "did you mean"', () => {
  it('reports an unknown key of an entry at the key itself, suggesting the key it resembles', () => {
    const text = DEVICE.replace('    os: Tizen 7\n', '    os: Tizen 7\n    modle: M2\n');
    const issue = issuesOf(text).find((i) => i.field === 'modle');
    expect(issue).toMatchObject({ deviceId: 'tv-1', ...positionIn(text, 'modle: M2') });
    expect(issue?.message).toBe('unknown key (did you mean model?)');
  });

  it('does the same in capabilities and in the driver settings, and says a missing key is required', () => {
    const text = DEVICE.replace('      memoryMb: 1024', '      memoryMB: 1024').replace(
      '      server: http',
      '      sever: http',
    );
    const issues = issuesOf(text);
    expect(issues.find((i) => i.field === 'capabilities.memoryMB')).toMatchObject({
      ...positionIn(text, 'memoryMB'),
      message: 'unknown key (did you mean memoryMb?)',
    });
    const withoutModel = issuesOf(DEVICE.replace('    model: M1\n', ''));
    expect(withoutModel.find((i) => i.field === 'model')?.message).toBe('is required');
    const settings = issuesOf(DEVICE.replace('      server: http', '      sever: http'));
    expect(settings.find((i) => i.field === 'settings.sever')).toMatchObject({
      ...positionIn(DEVICE.replace('      server: http', '      sever: http'), 'sever'),
      message: 'unknown key (did you mean server?)',
    });
  });

  it.each([
    ['an unclosed flow sequence', DEVICE.replace('codecs: [h264]', 'codecs: [h264'), '[h264'],
    ['an unclosed quoted string', DEVICE.replace('name: TV one', 'name: "TV one'), '"TV one'],
    [
      'a line without its colon',
      DEVICE.replace('    platform: tizen', '    platform tizen'),
      'platform tizen',
    ],
  ])('reports malformed YAML (%s) where it is written, once', (_label, text, needle) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field: '(yaml)', ...positionIn(text, needle) });
  });

  it('points a container manifest at its unclosed bracket and suggests its keys too', () => {
    const manifest = (extra: string) =>
      `id: stb.boot\ntitle: Boots\ncomponent: platform\nowner: qa\nimage: devlab/stb-reference:1\n${extra}results: /results/junit.xml\n`;
    const unclosed = manifest('command: [/opt/run.sh, all\n');
    const syntax = errorOf(() => parseManifest(unclosed, 'm.manifest.yaml'));
    expect([syntax.line, syntax.column]).toEqual([6, 10]);
    const typo = errorOf(() => parseManifest(manifest('command: [a]\ntimeoutMS: 5\n'), 'm.manifest.yaml'));
    expect([typo.line, typo.column, typo.reason]).toEqual([
      7,
      1,
      'unknown field `timeoutMS` (did you mean timeoutMs?)',
    ]);
  });
});

function errorOf(fn: () => unknown): ManifestError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ManifestError) return err;
    throw err;
  }
  throw new Error('expected a ManifestError');
}
