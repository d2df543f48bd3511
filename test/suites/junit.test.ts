import { describe, expect, it } from 'vitest';
import { JUnitParseError, parseJUnitXml } from '../../suites/manifest/junit.ts';

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="conformance">
  <testsuite name="boot" tests="4">
    <testcase name="init is pid 1" classname="boot.init" time="0.012"/>
    <testcase name="hostname set" classname="boot.identity" time="1.5">
      <failure message="hostname is (none)" type="AssertionError">expected stb-ref, got (none)</failure>
    </testcase>
    <testcase name="rootfs read-only" classname="boot.mounts" time="0">
      <error>mount: permission denied</error>
    </testcase>
    <testcase name="tmpfs size" time="x">
      <skipped message="no tmpfs on this image"/>
    </testcase>
    <testsuite name="nested">
      <testcase name="inner" classname="boot.nested"/>
    </testsuite>
  </testsuite>
</testsuites>`;

describe('parseJUnitXml', () => {
  it('turns each testcase into a result with verdict, duration and message', () => {
    expect(parseJUnitXml(REPORT)).toEqual([
      { name: 'init is pid 1', classname: 'boot.init', verdict: 'passed', durationMs: 12, message: '' },
      {
        name: 'hostname set',
        classname: 'boot.identity',
        verdict: 'failed',
        durationMs: 1500,
        message: 'hostname is (none)',
      },
      {
        name: 'rootfs read-only',
        classname: 'boot.mounts',
        verdict: 'error',
        durationMs: 0,
        message: 'mount: permission denied',
      },
      {
        name: 'tmpfs size',
        classname: 'boot',
        verdict: 'skipped',
        durationMs: 0,
        message: 'no tmpfs on this image',
      },
      { name: 'inner', classname: 'boot.nested', verdict: 'passed', durationMs: 0, message: '' },
    ]);
  });

  it('reads a bare <testsuite> root and empty elements', () => {
    const cases = parseJUnitXml(
      '<testsuite name="s"><testcase name="a"><skipped/></testcase><testcase name="b"/></testsuite>',
    );
    expect(cases.map((c) => [c.name, c.classname, c.verdict])).toEqual([
      ['a', 's', 'skipped'],
      ['b', 's', 'passed'],
    ]);
    expect(parseJUnitXml('<testsuites/>')).toEqual([]);
  });

  it('rejects malformed XML with its position', () => {
    const err = (() => {
      try {
        parseJUnitXml('<testsuite>\n  <testcase name="a">\n</testsuite>');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(JUnitParseError);
    expect((err as JUnitParseError).line).toBeGreaterThanOrEqual(2);
  });

  it('rejects XML that is not a JUnit report', () => {
    expect(() => parseJUnitXml('<html><body/></html>')).toThrow(
      /root element must be <testsuites> or <testsuite>/,
    );
  });
});
