import { stat } from 'node:fs/promises';
import { testMetaSchema } from '../define-test.ts';
import { definitionError } from '../definition-error.ts';
import type { TestDefinition } from '../test-api.ts';
import { importTestModule } from './import-test-module.ts';

/**
 * Imports a `*.test-def.ts` (or `.test-def.js`) module and checks its default export: a TestDefinition or an array of them.
 * Throws an Error saying which export entry and field is wrong.
 */
export async function loadCodeTests(file: string): Promise<TestDefinition[]> {
  const { mtimeMs } = await stat(file);
  const mod = await importTestModule(file, mtimeMs);
  if (mod.default === undefined) {
    throw new Error('no default export: export default defineTest(...) or an array of them');
  }
  const items = Array.isArray(mod.default) ? mod.default : [mod.default];
  return items.map((item, index) =>
    checkDefinition(item, Array.isArray(mod.default) ? `default export [${index}]` : 'default export'),
  );
}

function checkDefinition(item: unknown, where: string): TestDefinition {
  if (typeof item !== 'object' || item === null)
    throw new Error(`${where} is not a test definition (use defineTest)`);
  const { body, ...meta } = item as Record<string, unknown>;
  if (typeof body !== 'function') throw new Error(`${where} has no body function (use defineTest)`);
  const parsed = testMetaSchema.safeParse(meta);
  if (!parsed.success) throw definitionError(meta, testMetaSchema, parsed.error, where);
  return { ...parsed.data, body: body as TestDefinition['body'] };
}
