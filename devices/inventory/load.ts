import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Document, isNode, type LineCounter, parseDocument } from 'yaml';
import type { ZodError } from 'zod';
import type { DeviceRecord } from '../device.ts';
import { type InventoryIssue, InventoryError } from './inventory-error.ts';
import { DRIVER_SETTINGS, deviceEntrySchema, inventoryFileSchema } from './schema.ts';
import { lineCounterOf, yamlValue } from '../yaml-value.ts';

/** The reference lab's inventory, used when no path is given. */
export const DEFAULT_INVENTORY = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'inventory.yaml',
);

type PathKey = string | number;

/** Line and column of the deepest node on `keys` that exists (a missing field points at its parent). */
function locate(doc: Document, lc: LineCounter, keys: PathKey[]): { line: number; column: number } {
  for (let n = keys.length; n >= 0; n--) {
    const node = doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) {
      const pos = lc.linePos(node.range[0]);
      return { line: pos.line, column: pos.col };
    }
  }
  return { line: 1, column: 1 };
}

function issuesFromZod(
  error: ZodError,
  ctx: { file: string; doc: Document; lc: LineCounter; base: PathKey[]; index?: number; deviceId?: string },
): InventoryIssue[] {
  return error.issues.map((issue) => {
    const rel = issue.path.filter((k): k is PathKey => typeof k !== 'symbol');
    const keys = [...ctx.base, ...rel];
    const field = (ctx.index === undefined ? keys : keys.slice(2)).join('.') || '(entry)';
    return {
      file: ctx.file,
      ...(ctx.deviceId ? { deviceId: ctx.deviceId } : {}),
      ...(ctx.index === undefined ? {} : { index: ctx.index }),
      field,
      ...locate(ctx.doc, ctx.lc, keys),
      message: issue.message,
    };
  });
}

/** Parses and validates inventory YAML; every problem is reported, not just the first. */
export function parseInventory(text: string, file = '<inline>'): DeviceRecord[] {
  const doc = parseDocument(text, { merge: true, prettyErrors: false });
  const lc = lineCounterOf(text);
  if (doc.errors.length > 0) {
    throw new InventoryError(
      doc.errors.map((e) => {
        const pos = lc.linePos(e.pos[0]);
        return { file, field: '(yaml)', line: pos.line, column: pos.col, message: e.message };
      }),
    );
  }
  const value = yamlValue(doc, { maxAliasCount: 1000 });
  if (!value.ok) {
    const pos = lc.linePos(value.offset);
    throw new InventoryError([
      { file, field: '(yaml)', line: pos.line, column: pos.col, message: value.message },
    ]);
  }
  const top = inventoryFileSchema.safeParse(value.value ?? {});
  if (!top.success) throw new InventoryError(issuesFromZod(top.error, { file, doc, lc, base: [] }));

  const issues: InventoryIssue[] = [];
  const devices: DeviceRecord[] = [];
  const seen = new Map<string, number>();
  top.data.devices.forEach((raw, index) => {
    const rawId = (raw as { id?: unknown } | null)?.id;
    const deviceId = typeof rawId === 'string' ? rawId : undefined;
    const ctx = { file, doc, lc, base: ['devices', index], index, ...(deviceId ? { deviceId } : {}) };
    const entry = deviceEntrySchema.safeParse(raw);
    if (!entry.success) {
      issues.push(...issuesFromZod(entry.error, ctx));
      return;
    }
    const settings = DRIVER_SETTINGS[entry.data.driver].safeParse(entry.data.settings);
    if (!settings.success) {
      issues.push(...issuesFromZod(settings.error, { ...ctx, base: ['devices', index, 'settings'] }));
      return;
    }
    const first = seen.get(entry.data.id);
    if (first !== undefined) {
      issues.push({
        file,
        deviceId: entry.data.id,
        index,
        field: 'id',
        ...locate(doc, lc, ['devices', index, 'id']),
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

export function loadInventory(file: string = DEFAULT_INVENTORY): DeviceRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InventoryError([
      { file, field: '(file)', line: 1, column: 1, message: `cannot read: ${(err as Error).message}` },
    ]);
  }
  return parseInventory(text, file);
}
