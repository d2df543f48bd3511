import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { HistoryImportError, type HistoryRow, type Verdict } from './row.ts';

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  isArray: (name) => ['testsuite', 'testcase', 'property', 'failure', 'error'].includes(name),
});

function asNodes(value: unknown): XmlNode[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).filter(
    (v): v is XmlNode => typeof v === 'object' && v !== null,
  );
}

function attr(node: XmlNode, name: string): string | undefined {
  const v = node[`@_${name}`];
  return v === undefined || v === null ? undefined : String(v);
}

function suiteProperty(suite: XmlNode, name: string): string | undefined {
  const props = asNodes(suite['properties']).flatMap((p) => asNodes(p['property']));
  const hit = props.find((p) => attr(p, 'name') === name);
  return hit ? attr(hit, 'value') : undefined;
}

/**
 * The `type` of the `<error>` element devlab's own JUnit report writes for an infrastructure error
 * (`harness/results/junit-report.ts`), so that its reports import back as `error`, not as failures.
 */
export const INFRASTRUCTURE_ERROR_TYPE = 'infrastructure';

/**
 * The suite property marking devlab's suite of tests no device could run (skipped, with why): no device
 * ran them, so they are no history and the suite is passed over on import.
 */
export const UNRUNNABLE_SUITE_PROPERTY = 'devlab.unrunnable';

/**
 * A test case's verdict. In JUnit, `<failure>` is a failed assertion and `<error>` an unexpected
 * exception *in the test*: both are the test's failure (`fail`). Only an `<error>` whose `type` is
 * `infrastructure` (what devlab writes when the lab, not the test, broke) is an infrastructure
 * `error`, which never counts as a failure.
 */
function verdictOf(tc: XmlNode): Verdict {
  if (tc['failure'] !== undefined) return 'fail';
  const errors = asNodes(tc['error']);
  if (tc['error'] !== undefined)
    return errors.length > 0 && errors.every((e) => attr(e, 'type') === INFRASTRUCTURE_ERROR_TYPE)
      ? 'error'
      : 'fail';
  if (tc['skipped'] !== undefined) return 'skipped';
  return 'pass';
}

export interface JunitCycle {
  file: string;
  timestamp?: string;
  rows: HistoryRow[];
}

/**
 * Parses one JUnit XML report as one cycle. The device comes from the suite property `device`
 * (else the `hostname` attribute, else `defaultDevice`); firmware and model from properties
 * (`device_model`, `firmware`). A test is `classname.name`, or `name` when its class is the device.
 */
export function parseJunitXml(
  xml: string,
  file: string,
  cycle: string,
  defaultDevice = 'default',
): JunitCycle {
  const valid = XMLValidator.validate(xml);
  if (valid !== true)
    throw new HistoryImportError(
      `${file}:${valid.err.line}:${valid.err.col}`,
      `invalid XML: ${valid.err.msg}`,
    );
  const doc = parser.parse(xml) as XmlNode;
  const root = asNodes(doc['testsuites'])[0];
  const suites = root ? asNodes(root['testsuite']) : asNodes(doc['testsuite']);
  if (suites.length === 0) throw new HistoryImportError(file, 'no <testsuite> element');
  const rows: HistoryRow[] = [];
  let timestamp: string | undefined;
  for (const [si, suite] of suites.entries()) {
    if (suiteProperty(suite, UNRUNNABLE_SUITE_PROPERTY) === 'true') continue;
    timestamp ??= attr(suite, 'timestamp');
    const device = suiteProperty(suite, 'device') ?? attr(suite, 'hostname') ?? defaultDevice;
    const deviceModel = suiteProperty(suite, 'device_model');
    const firmware = suiteProperty(suite, 'firmware');
    for (const [ci, tc] of asNodes(suite['testcase']).entries()) {
      const name = attr(tc, 'name');
      if (!name)
        throw new HistoryImportError(
          `${file}: testsuite[${si}] testcase[${ci}]`,
          'testcase without a name attribute',
        );
      const cls = attr(tc, 'classname');
      const timeText = attr(tc, 'time') ?? '0';
      const durationS = Number(timeText.replaceAll(',', ''));
      if (!Number.isFinite(durationS) || durationS < 0)
        throw new HistoryImportError(
          `${file}: testcase "${name}"`,
          `time "${timeText}" is not a non-negative number`,
        );
      const row: HistoryRow = {
        cycle,
        // A class naming the suite's device (devlab's own reports) is no part of the test's name.
        test: cls && cls !== device ? `${cls}.${name}` : name,
        device,
        verdict: verdictOf(tc),
        durationS,
      };
      if (deviceModel) row.deviceModel = deviceModel;
      if (firmware) row.firmware = firmware;
      rows.push(row);
    }
  }
  const parsedTime = timestamp ? Date.parse(timestamp) : Number.NaN;
  const iso = Number.isFinite(parsedTime) ? new Date(parsedTime).toISOString() : undefined;
  if (iso) for (const r of rows) r.time = iso;
  return iso ? { file, timestamp: iso, rows } : { file, rows };
}

/**
 * Reads a directory of JUnit XML files; each file is one cycle. Cycles are ordered by the suites'
 * `timestamp` attribute when every file has one, else by file name.
 */
export async function readJunitDir(dir: string, defaultDevice = 'default'): Promise<HistoryRow[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.xml')).sort();
  } catch (err) {
    throw new HistoryImportError(dir, `cannot read directory: ${(err as Error).message}`);
  }
  if (names.length === 0) throw new HistoryImportError(dir, 'no .xml files');
  const cycles: JunitCycle[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    const xml = await readFile(file, 'utf8');
    cycles.push(parseJunitXml(xml, file, path.basename(name, path.extname(name)), defaultDevice));
  }
  if (cycles.every((c) => c.timestamp))
    cycles.sort(
      (a, b) => Date.parse(a.timestamp!) - Date.parse(b.timestamp!) || a.file.localeCompare(b.file),
    );
  return cycles.flatMap((c, i) => c.rows.map((r) => ({ ...r, cycle: String(i + 1) })));
}
