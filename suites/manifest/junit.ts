import { XMLParser, XMLValidator } from 'fast-xml-parser';

export type JUnitVerdict = 'passed' | 'failed' | 'skipped' | 'error';

/** One `<testcase>`: each becomes its own result under the container test that produced it. */
export interface JUnitCase {
  name: string;
  classname: string;
  verdict: JUnitVerdict;
  durationMs: number;
  /** Failure/error/skip message (the `message` attribute, else the element text); empty when passed. */
  message: string;
}

export class JUnitParseError extends Error {
  override readonly name = 'JUnitParseError';
  constructor(
    reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      line === undefined ? `JUnit XML: ${reason}` : `JUnit XML line ${line}, column ${column}: ${reason}`,
    );
  }
}

type XmlNode = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseAttributeValue: false,
  parseTagValue: false,
  isArray: (name) => ['testsuites', 'testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(name),
});

/** Parses a JUnit XML report (`<testsuites>` or a bare `<testsuite>`, nested suites too) into its test cases. */
export function parseJUnitXml(xml: string): JUnitCase[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new JUnitParseError(valid.err.msg, valid.err.line, valid.err.col);
  const doc = parser.parse(xml) as XmlNode;
  const roots = [
    ...nodes(doc['testsuites']).flatMap((s) => nodes(s['testsuite'])),
    ...nodes(doc['testsuite']),
  ];
  if (doc['testsuites'] === undefined && doc['testsuite'] === undefined) {
    throw new JUnitParseError('the root element must be <testsuites> or <testsuite>');
  }
  const cases: JUnitCase[] = [];
  for (const suite of roots) visitSuite(suite, cases);
  return cases;
}

function visitSuite(suite: XmlNode, out: JUnitCase[]): void {
  const suiteName = text(suite['@_name']);
  for (const tc of nodes(suite['testcase'])) out.push(toCase(tc, suiteName));
  for (const child of nodes(suite['testsuite'])) visitSuite(child, out);
}

function toCase(tc: XmlNode, suiteName: string): JUnitCase {
  const seconds = Number.parseFloat(text(tc['@_time']));
  const durationMs = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  const outcome: [JUnitVerdict, unknown][] = [
    ['error', tc['error']],
    ['failed', tc['failure']],
    ['skipped', tc['skipped']],
  ];
  const found = outcome.find(([, value]) => value !== undefined);
  return {
    name: text(tc['@_name']) || '(unnamed)',
    classname: text(tc['@_classname']) || suiteName,
    verdict: found?.[0] ?? 'passed',
    durationMs,
    message: found === undefined ? '' : messageOf(found[1]),
  };
}

function messageOf(elements: unknown): string {
  const first = Array.isArray(elements) ? elements[0] : elements;
  if (typeof first === 'string') return first.trim();
  if (typeof first === 'object' && first !== null) {
    const node = first as XmlNode;
    return (text(node['@_message']) || text(node['#text'])).trim();
  }
  return '';
}

function nodes(value: unknown): XmlNode[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  // `<testsuite/>` parses to an empty string; treat it as a suite with no cases.
  return list.map((v) => (typeof v === 'object' && v !== null ? (v as XmlNode) : {}));
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}
