import { describe, expect, it } from 'vitest';
import type { ContainerHandle, DeviceRecord } from '../../devices/device.ts';
import { toCaseResults } from '../../suites/manifest/container-run.ts';
import { loadManifestText } from '../../suites/manifest/load-manifest.ts';
import type { TestContext } from '../../suites/test-api.ts';

const MANIFEST = `id: stb.conformance.time
title: Clock
component: platform-time
owner: platform-team
image: devlab/stb-reference:1
command: [/opt/conformance/run.sh, time]
env: { TZ: UTC }
timeoutMs: 5000
results: /results/junit.xml
`;

const PASSING = '<testsuite name="time"><testcase name="tz" classname="time.zone" time="0.1"/></testsuite>';
const FAILING =
  '<testsuite name="time"><testcase name="tz" classname="time.zone"/><testcase name="ntp" classname="time.sync"><failure message="no ntp"/></testcase></testsuite>';

function harness(files: Record<string, string>, exitCode = 0) {
  const execs: { cmd: string[]; timeoutMs: number | undefined }[] = [];
  const attachments: { name: string; data: string; contentType: string | undefined }[] = [];
  const container: ContainerHandle = {
    id: 'c1',
    exec: async (cmd, options) => {
      execs.push({ cmd, timeoutMs: options?.timeoutMs });
      return { exitCode, stdout: '', stderr: 'runner: done' };
    },
    readFile: async (p) => {
      const content = files[p];
      if (content === undefined) throw new Error(`no such file: ${p}`);
      return Buffer.from(content);
    },
    writeFile: async () => {},
  };
  const ctx: TestContext = {
    container,
    device: { id: 'stb-01' } as DeviceRecord,
    appUrl: 'http://127.0.0.1:0',
    log: { info() {}, warn() {}, error() {} },
    step: async (_name, fn) => fn(),
    attach: (name, data, contentType) => attachments.push({ name, data: data.toString(), contentType }),
    signal: new AbortController().signal,
  };
  return { ctx, execs, attachments };
}

describe('container manifest body', () => {
  it('execs the command with its env, then attaches the JUnit file and the parsed cases', async () => {
    const { ctx, execs, attachments } = harness({ '/results/junit.xml': PASSING });
    await loadManifestText(MANIFEST, 'time.manifest.yaml').body(ctx);
    expect(execs).toEqual([{ cmd: ['env', 'TZ=UTC', '/opt/conformance/run.sh', 'time'], timeoutMs: 5000 }]);
    expect(attachments.map((a) => [a.name, a.contentType])).toEqual([
      ['junit.xml', 'application/xml'],
      ['junit-cases.json', 'application/json'],
    ]);
    expect(JSON.parse(attachments[1]!.data)).toEqual([
      { name: 'tz', classname: 'time.zone', verdict: 'passed', durationMs: 100, message: '' },
    ]);
  });

  it('fails naming every failing case', async () => {
    const { ctx } = harness({ '/results/junit.xml': FAILING }, 1);
    await expect(loadManifestText(MANIFEST, 'm').body(ctx)).rejects.toThrow(
      /1 of 2 cases did not pass:\nfailed: time\.sync\.ntp — no ntp/,
    );
  });

  it('fails with the exit code and stderr when the results file is missing', async () => {
    const { ctx } = harness({}, 127);
    await expect(loadManifestText(MANIFEST, 'm').body(ctx)).rejects.toThrow(
      /no JUnit results at \/results\/junit\.xml .* exited 127: no such file.*\nrunner: done/s,
    );
  });

  it('fails clearly on a device without a container', async () => {
    const { ctx } = harness({});
    await expect(loadManifestText(MANIFEST, 'm').body({ ...ctx, container: undefined })).rejects.toThrow(
      /needs a docker device/,
    );
  });

  it('keys each case result under its container test', () => {
    const results = toCaseResults('stb.conformance.time', [
      { name: 'tz', classname: 'time.zone', verdict: 'passed', durationMs: 1, message: '' },
      { name: 'ntp', classname: '', verdict: 'failed', durationMs: 2, message: 'x' },
    ]);
    expect(results.map((r) => r.id)).toEqual([
      'stb.conformance.time::time.zone.tz',
      'stb.conformance.time::ntp',
    ]);
    expect(results.every((r) => r.testId === 'stb.conformance.time')).toBe(true);
  });
});
