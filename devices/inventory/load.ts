import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, type LineCounter, parseDocument } from 'yaml';
import type { ZodError, ZodType } from 'zod';
import { unknownKeyHint } from '../did-you-mean.ts';
import { DEFAULT_LOCAL_APPIUM_URL } from '../appium/settings.ts';
import type { DeviceRecord } from '../device.ts';
import { type InventoryIssue, InventoryError } from './inventory-error.ts';
import { DRIVER_SETTINGS, deviceEntrySchema, inventoryFileSchema } from './schema.ts';
import { lineCounterOf, positionOf, syntaxErrorOffset, yamlValue } from '../yaml-value.ts';

/** The reference lab's inventory, used when no path is given. */
export const DEFAULT_INVENTORY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'inventory.yaml',
);

type PathKey = string | number;

interface ZodContext {
  file: string;
  doc: Document;
  lc: LineCounter;
  /** Where the validated value sits in the document, e.g. ['devices', 3, 'settings']. */
  base: PathKey[];
  /** The schema it was validated with: an unknown key's "did you mean" comes from its keys. */
  schema: ZodType;
  index?: number;
  deviceId?: string;
}

/** One issue per problem; an unknown key is reported at the key itself, with the key it may have meant. */
function issuesFromZod(error: ZodError, ctx: ZodContext): InventoryIssue[] {
  return error.issues.flatMap((issue) => {
    const rel = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    const unknownKeys: (string | undefined)[] = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
    return unknownKeys.map((key) => {
      const keys = key === undefined ? [...ctx.base, ...rel] : [...ctx.base, ...rel, key];
      const field = (ctx.index === undefined ? keys : keys.slice(2)).join('.') || '(entry)';
      return {
        file: ctx.file,
        ...(ctx.deviceId ? { deviceId: ctx.deviceId } : {}),
        ...(ctx.index === undefined ? {} : { index: ctx.index }),
        field,
        // A missing field points at its parent, an unknown key at itself.
        ...positionOf(ctx.doc, ctx.lc, [...ctx.base, ...rel], key),
        message:
          key !== undefined
            ? `unknown key${unknownKeyHint(ctx.schema, rel, key)}`
            : issue.code === 'invalid_type' && /received undefined$/.test(issue.message)
              ? 'is required'
              : issue.message,
      };
    });
  });
}

export interface InventoryOptions {
  /**
   * The `server` of an Appium device that names none: the local Appium server of the agent's host, as
   * the lab's config says (`http://<appium.host>:<appium.port>`; default http://127.0.0.1:4723).
   */
  localAppiumUrl?: string;
}

/** An Appium device's settings with the local server filled in when they name none. */
function withLocalAppium(
  driver: string,
  settings: Record<string, unknown>,
  url: string,
): Record<string, unknown> {
  return driver === 'appium' && settings['server'] === undefined ? { ...settings, server: url } : settings;
}

/** Parses and validates inventory YAML; every problem is reported, not just the first. */
export function parseInventory(
  text: string,
  file = '<inline>',
  options: InventoryOptions = {},
): DeviceRecord[] {
  const doc = parseDocument(text, { merge: true, prettyErrors: false });
  const lc = lineCounterOf(text);
  if (doc.errors.length > 0) {
    // The first error only: the ones after it follow from it (an unclosed bracket makes every later line wrong).
    const first = doc.errors[0]!;
    const pos = lc.linePos(syntaxErrorOffset(text, first));
    const message = first.message.split('\n')[0] ?? 'invalid YAML';
    throw new InventoryError([{ file, field: '(yaml)', line: pos.line, column: pos.col, message }]);
  }
  const value = yamlValue(doc, { maxAliasCount: 1000 });
  if (!value.ok) {
    const pos = lc.linePos(value.offset);
    throw new InventoryError([
      { file, field: '(yaml)', line: pos.line, column: pos.col, message: value.message },
    ]);
  }
  const top = inventoryFileSchema.safeParse(value.value ?? {});
  if (!top.success)
    throw new InventoryError(
      issuesFromZod(top.error, { file, doc, lc, base: [], schema: inventoryFileSchema }),
    );

  const issues: InventoryIssue[] = [];
  const devices: DeviceRecord[] = [];
  const seen = new Map<string, number>();
  top.data.devices.forEach((raw, index) => {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const deviceId = typeof rawId === 'string' ? rawId : undefined;
    const ctx: ZodContext = {
      file,
      doc,
      lc,
      base: ['devices', index],
      schema: deviceEntrySchema,
      index,
      ...(deviceId ? { deviceId } : {}),
    };
    const entry = deviceEntrySchema.safeParse(raw);
    if (!entry.success) {
      issues.push(...issuesFromZod(entry.error, ctx));
      return;
    }
    const settingsSchema = DRIVER_SETTINGS[entry.data.driver];
    const settings = settingsSchema.safeParse(
      withLocalAppium(
        entry.data.driver,
        entry.data.settings,
        options.localAppiumUrl ?? DEFAULT_LOCAL_APPIUM_URL,
      ),
    );
    if (!settings.success) {
      const base = ['devices', index, 'settings'];
      issues.push(...issuesFromZod(settings.error, { ...ctx, base, schema: settingsSchema }));
      return;
    }
    const first = seen.get(entry.data.id);
    if (first !== undefined) {
      issues.push({
        file,
        deviceId: entry.data.id,
        index,
        field: 'id',
        ...positionOf(doc, lc, ['devices', index, 'id']),
        message: `duplicate id, first used by entry #${first}`,
      });
      return;
    }
    seen.set(entry.data.id, index);
    devices.push({ ...entry.data, settings: settings.data as Record<string, unknown> });
  });
  if (issues.length > 0) throw new InventoryError(issues);
  return devices;
}

export function loadInventory(
  file: string = DEFAULT_INVENTORY,
  options: InventoryOptions = {},
): DeviceRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InventoryError([
      { file, field: '(file)', line: 1, column: 1, message: `cannot read: ${(err as Error).message}` },
    ]);
  }
  return parseInventory(text, file, options);
}
