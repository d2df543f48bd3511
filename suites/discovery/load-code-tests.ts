import { stat } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { testMetaSchema } from '../define-test.ts';
import type { TestDefinition } from '../test-api.ts';

/**
 * Imports a `*.test-def.ts` module and checks its default export: a TestDefinition or an array of them.
 * Throws an Error saying which export entry and field is wrong.
 */
export async function loadCodeTests(file: string): Promise<TestDefinition[]> {
  // The mtime in the URL makes a re-scan in a long-lived process see edited files; unchanged files stay
  // cached. The query ends in `.ts` because some loaders (Vite's, under vitest) pick the TypeScript
  // transform by the end of the module id, query included.
  const { mtimeMs } = await stat(file);
  const mod = (await import(`${pathToFileURL(file).href}?mtime=${Math.round(mtimeMs)}&as=.ts`)) as {
    default?: unknown;
  };
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
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}: field ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return { ...parsed.data, body: body as TestDefinition['body'] };
}
