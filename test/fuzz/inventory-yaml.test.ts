import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../devices/device.ts';
import { InventoryError } from '../../devices/inventory/inventory-error.ts';
import { loadInventory, parseInventory } from '../../devices/inventory/load.ts';
import { DRIVER_SETTINGS, deviceEntrySchema } from '../../devices/inventory/schema.ts';
import { FUZZ_LIMITS, HOSTILE_YAML, mutatedDocument, randomDocument } from './yaml-fuzz.ts';

/** A valid inventory with every driver kind, a template anchor and merge keys. */
const VALID = `version: 1
templates:
  appium-local: &appium-local
    server: http://127.0.0.1:4723
    capabilities: { browserName: chrome, appium:automationName: Chromium }
devices:
  - id: tv-4k
    name: "Aurora 65\\" TV"
    driver: appium
    model: AUR-65X9
    platform: auroraos
    os: AuroraOS 5.2
    firmware: "5.2.14"
    host: agent-a
    tags: [tv, 4k]
    capabilities:
      codecs: [h264, hevc]
      drm: { widevine: L1 }
      resolution: 2160p
      memoryMb: 3072
      input: [dpad, voice]
    settings:
      <<: *appium-local
      emulation: { windowSize: { width: 1920, height: 1080 }, mediaProbes: true }
  - id: stb-1
    name: Set-top box
    driver: docker
    model: STB-1
    platform: linux
    os: busybox
    firmware: '1.0'
    host: agent-b
    capabilities: { codecs: [h264], resolution: 720p, memoryMb: 256, input: [dpad] }
    settings: { image: 'devlab/stb-reference:1', memoryMb: 64, env: { GROUP: boot } }
  - { id: desktop-chrome, name: Desktop browser, driver: browser, model: chromium, platform: web, os: Debian,
      firmware: '156', host: agent-b, capabilities: { resolution: 1080p, memoryMb: 8192, input: [pointer] },
      settings: { viewport: { width: 1280, height: 720 }, headless: true } }
`;

const ID_RULE = /^[a-z0-9][a-z0-9._-]*$/;

const FILE = 'labs/ünïcode lab/inventory.yaml';

let lastMessage = '';

/**
 * The property: parsing gives valid device records or an InventoryError whose every issue names the file,
 * a line:column inside the document and the field (and the device for entry issues). Anything else thrown
 * escapes and fails the property with the offending document.
 */
function outcome(text: string, file = FILE): 'ok' | 'inventory-error' {
  lastMessage = '';
  let devices: DeviceRecord[];
  try {
    devices = parseInventory(text, file);
  } catch (err) {
    if (!(err instanceof InventoryError)) throw err;
    checkError(err, text, file);
    lastMessage = err.message;
    return 'inventory-error';
  }
  const ids = devices.map((d) => d.id);
  expect(new Set(ids).size).toBe(ids.length);
  for (const d of devices) {
    expect(d.id).toMatch(ID_RULE);
    expect(deviceEntrySchema.safeParse(d).success).toBe(true);
    expect(DRIVER_SETTINGS[d.driver].safeParse(d.settings).success).toBe(true);
  }
  return 'ok';
}

function checkError(err: InventoryError, text: string, file: string): void {
  const lines = text.split('\n');
  // Plain checks collected per issue (documents can have hundreds); one assertion per document.
  const problems: string[] = [];
  if (err.name !== 'InventoryError') problems.push(`name ${err.name}`);
  if (err.issues.length === 0) problems.push('no issues');
  for (const issue of err.issues) {
    const where = `${issue.file}:${issue.line}:${issue.column}`;
    const line = lines[issue.line - 1];
    if (issue.file !== file) problems.push(`${where}: wrong file`);
    if (!Number.isInteger(issue.line) || line === undefined) problems.push(`${where}: line outside the text`);
    else if (!Number.isInteger(issue.column) || issue.column < 1 || issue.column > line.length + 1)
      problems.push(`${where}: column outside line ${JSON.stringify(line)}`);
    if (issue.field === '' || issue.message === '') problems.push(`${where}: no field or message`);
    if (!err.message.includes(`${where}:`)) problems.push(`${where}: not in the message`);
    if (!err.message.includes(`field "${issue.field}": `))
      problems.push(`${where}: field not in the message`);
    if (issue.index !== undefined && !err.message.includes(`(#${issue.index})`))
      problems.push(`${where}: entry not in the message`);
    if (issue.deviceId !== undefined && !err.message.includes(`device "${issue.deviceId}"`))
      problems.push(`${where}: device not in the message`);
  }
  expect(problems).toEqual([]);
}

describe('inventory YAML fuzzing (fast-check)', FUZZ_LIMITS, () => {
  it('the seed inventory loads', () => {
    expect(outcome(VALID)).toBe('ok');
    expect(parseInventory(VALID).map((d) => d.id)).toEqual(['tv-4k', 'stb-1', 'desktop-chrome']);
  });

  it('regressions: aliases and merges the YAML value conversion rejects are InventoryErrors', () => {
    for (const text of HOSTILE_YAML) expect(outcome(text)).toBe('inventory-error');
    // These used to escape as a bare ReferenceError / Error from yaml's toJS.
    const unresolved = errorOf('devices:\n  - id: x\n    tags: *nope\n');
    expect(unresolved.message).toContain('inv.yaml:3:11: field "(yaml)": Unresolved alias');
    const merge = errorOf('devices:\n  - id: x\n    <<: 5\n');
    expect(merge.message).toContain('inv.yaml:3:9: field "(yaml)": Merge sources must be maps');
    const bomb = errorOf(HOSTILE_YAML[5]!);
    expect(bomb.message).toContain('inv.yaml:2:8: field "(yaml)": Excessive alias count');
  });

  it('regression: issues after a multi-line scalar the parser rejected are on the right line', () => {
    // The YAML parser's own line counter skipped the newline inside `"\n  "b`, so later issues landed a line
    // early. Only the first YAML error is reported now (the rest follow from it): the stray `"` on line 2.
    const issues = errorOf('id: x\ntitle: \'a\'"\n  "b\ncomponent: ]\n').issues;
    expect(issues).toHaveLength(1);
    expect([issues[0]!.line, issues[0]!.column]).toEqual([2, 11]);
  });

  it('mutated inventories (text and structural edits) load or give a located InventoryError', () => {
    const seen = { ok: 0, 'inventory-error': 0 };
    let duplicates = 0;
    fc.assert(
      fc.property(mutatedDocument(VALID, parse(VALID, { merge: true })), (text) => {
        const result = outcome(text);
        seen[result]++;
        if (lastMessage.includes('duplicate id, first used by entry')) duplicates++;
      }),
      { numRuns: 10_000 },
    );
    // Both outcomes occur, and edits reached the duplicate-id check, so the loader was exercised throughout.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen['inventory-error']).toBeGreaterThan(0);
    expect(duplicates).toBeGreaterThan(0);
  });

  it('YAML-looking token soup, arbitrary strings and hostile documents give an InventoryError at most', () => {
    fc.assert(
      fc.property(randomDocument(VALID), (text) => {
        outcome(text);
      }),
      { numRuns: 10_000 },
    );
  });

  it('loadInventory reads the file (UTF-8) and reports it like parseInventory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'devlab-fuzz-inventory-'));
    const file = path.join(dir, 'lab inventory.yaml');
    try {
      fc.assert(
        fc.property(
          fc.oneof(mutatedDocument(VALID, parse(VALID, { merge: true })), randomDocument(VALID)),
          (text) => {
            writeFileSync(file, text);
            // What the file holds: lone surrogates were written as U+FFFD.
            const written = Buffer.from(text, 'utf8').toString('utf8');
            let loaded: unknown;
            try {
              loaded = loadInventory(file);
            } catch (err) {
              if (!(err instanceof InventoryError)) throw err;
              checkError(err, written, file);
              loaded = err.issues;
            }
            let parsed: unknown;
            try {
              parsed = parseInventory(written, file);
            } catch (err) {
              parsed = (err as InventoryError).issues;
            }
            expect(loaded).toEqual(parsed);
          },
        ),
        { numRuns: 500 },
      );
      for (const missing of [path.join(dir, 'missing.yaml'), dir]) {
        expect(() => loadInventory(missing)).toThrow(InventoryError);
        expect(() => loadInventory(missing)).toThrow(`${missing}:1:1: field "(file)": cannot read`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
function errorOf(text: string): InventoryError {
  try {
    parseInventory(text, 'inv.yaml');
  } catch (err) {
    if (err instanceof InventoryError) return err;
    throw err;
  }
  throw new Error('expected an InventoryError');
}
