import type { TestContext } from '../test-api.ts';
import { type JUnitCase, parseJUnitXml } from './junit.ts';

/**
 * What a container manifest runs: the harness starts `image` (else the device's own) on a docker device,
 * the body does the rest.
 */
export interface ContainerSpec {
  image?: string;
  command: string[];
  env: Record<string, string>;
  /** JUnit XML path inside the container. */
  results: string;
}

/** A JUnit case as a result of its own, keyed under the container test that produced it. */
export interface ContainerCaseResult extends JUnitCase {
  /** `<test id>::<classname>.<name>`, stable across runs so per-case history can be kept. */
  id: string;
  testId: string;
}

export function toCaseResults(testId: string, cases: readonly JUnitCase[]): ContainerCaseResult[] {
  return cases.map((c) => ({
    ...c,
    testId,
    id: `${testId}::${c.classname ? `${c.classname}.` : ''}${c.name}`,
  }));
}

/**
 * Runs the manifest's command in the test's container, reads and parses the JUnit file, and attaches both the
 * raw XML (`junit.xml`) and the parsed cases (`junit-cases.json`). Throws when there is no container or no
 * results file; failing cases are returned, not thrown, so the caller decides the test verdict.
 */
export async function runContainerTest(
  ctx: TestContext,
  spec: ContainerSpec,
  timeoutMs?: number,
): Promise<JUnitCase[]> {
  const container = ctx.container;
  if (container === undefined) {
    throw new Error(
      `container test needs a docker device, but device ${ctx.device.id} gave no container handle`,
    );
  }
  const envArgs = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const argv = envArgs.length > 0 ? ['env', ...envArgs, ...spec.command] : spec.command;
  const run = await ctx.step(`exec ${spec.command.join(' ')}`, () =>
    container.exec(argv, timeoutMs === undefined ? {} : { timeoutMs }),
  );
  ctx.log.info('container command finished', { exitCode: run.exitCode });
  let xml: string;
  try {
    xml = (await container.readFile(spec.results)).toString('utf8');
  } catch (err) {
    const stderr = run.stderr.trim().split('\n').slice(-5).join('\n');
    throw new Error(
      `no JUnit results at ${spec.results} after \`${spec.command.join(' ')}\` exited ${run.exitCode}: ${(err as Error).message}${stderr ? `\n${stderr}` : ''}`,
    );
  }
  ctx.attach('junit.xml', xml, 'application/xml');
  const cases = parseJUnitXml(xml);
  ctx.attach('junit-cases.json', JSON.stringify(cases, null, 2), 'application/json');
  return cases;
}

/** Throws unless every case passed or was skipped and the command succeeded: the container test's verdict. */
export function assertCasesPassed(cases: readonly JUnitCase[], exitHint = ''): void {
  const bad = cases.filter((c) => c.verdict === 'failed' || c.verdict === 'error');
  if (bad.length > 0) {
    const lines = bad.map(
      (c) =>
        `${c.verdict}: ${c.classname ? `${c.classname}.` : ''}${c.name}${c.message ? ` — ${c.message}` : ''}`,
    );
    throw new Error(`${bad.length} of ${cases.length} cases did not pass:\n${lines.join('\n')}`);
  }
  if (cases.length === 0) throw new Error(`the results file has no test cases${exitHint}`);
}
