import { XMLBuilder } from 'fast-xml-parser';
import { INFRASTRUCTURE_ERROR_TYPE, UNRUNNABLE_SUITE_PROPERTY } from '../../analysis/history/junit.ts';
import type { Triage } from '../../analysis/triage/triage.ts';
import type { CaseResult } from '../protocol/job.ts';
import { isTestFailure } from '../protocol/verdict.ts';
import type { JobRow } from '../store/jobs-repo.ts';

export interface JUnitInput {
  runId: string;
  jobs: readonly JobRow[];
  /** JUnit cases a container test reported, by job id: they become test cases of their own. */
  cases?: ReadonlyMap<string, readonly CaseResult[]>;
  /** Failure triage of failed jobs, by job id: written as `<properties>` of their test cases. */
  triage?: ReadonlyMap<string, Triage>;
  /** Tests no device of the run could run (the plan's `unplanned`): skipped test cases, with why. */
  unplanned?: readonly { testId: string; reasons: readonly string[] }[];
}

/** What a job ran on: its device, or its pool while no device took it (never started, cancelled). */
function deviceOf(job: JobRow): string {
  return job.deviceId ?? job.pool;
}

type Case = Record<string, unknown>;

/** A failed test case's triage as JUnit properties (before its `<failure>`, as the schema orders them). */
function triageProperties(t: Triage): Case {
  const e = t.evidence;
  const property = [
    ['devlab.triage', t.label],
    ['devlab.triage.summary', t.summary],
    ['devlab.triage.runs-on-device', String(e.runs)],
    ['devlab.triage.failures-on-device', String(e.failures)],
    ['devlab.triage.recent-failures', `${e.recentFailures}/${e.recentRuns}`],
    ...(e.lastRun ? [['devlab.triage.last-run', `${e.lastRun.run} ${e.lastRun.verdict}`]] : []),
    ...(e.failingSince ? [['devlab.triage.failing-since-run', e.failingSince.run]] : []),
    ...(e.baseBuild
      ? [
          [
            'devlab.triage.base-build',
            `${e.baseBuild.build}: ${e.baseBuild.failures} failure(s) on this device`,
          ],
        ]
      : []),
  ].map(([name, value]) => ({ '@_name': name, '@_value': value }));
  return { properties: { property } };
}

function jobCase(job: JobRow, triage: Triage | undefined): Case {
  const base: Case = {
    '@_name': job.testId,
    '@_classname': deviceOf(job),
    '@_time': ((job.durationMs ?? 0) / 1000).toFixed(3),
    ...(triage ? triageProperties(triage) : {}),
  };
  const message = job.message ?? '';
  if (job.verdict !== null && isTestFailure(job.verdict))
    return {
      ...base,
      failure: { '@_message': message.slice(0, 500), '@_type': job.verdict, '#text': message },
    };
  switch (job.verdict) {
    case 'error':
      // Typed so that importing the report as history (analysis/history/junit.ts) keeps it an
      // infrastructure error: an untyped JUnit <error> is an exception in the test, a failure.
      return {
        ...base,
        error: {
          '@_message': message.slice(0, 500),
          '@_type': INFRASTRUCTURE_ERROR_TYPE,
          '#text': message,
        },
      };
    case 'skipped':
    case 'cancelled':
      return { ...base, skipped: { '@_message': job.skipReason ?? job.verdict } };
    case 'flaky':
      return { ...base, 'system-out': `flaky: passed after ${job.attempts} attempts` };
    default:
      return base;
  }
}

function caseCase(job: JobRow, c: CaseResult): Case {
  const base: Case = {
    '@_name': `${job.testId} › ${c.name}`,
    '@_classname': c.classname || deviceOf(job),
    '@_time': (c.durationMs / 1000).toFixed(3),
  };
  if (c.verdict === 'failed')
    return { ...base, failure: { '@_message': c.message ?? '', '#text': c.message ?? '' } };
  // A case's <error> is the test binary's own (an exception in the test): a test failure in JUnit
  // terms, so it is written untyped, unlike the infrastructure error of a job.
  if (c.verdict === 'error')
    return { ...base, error: { '@_message': c.message ?? '', '#text': c.message ?? '' } };
  if (c.verdict === 'skipped') return { ...base, skipped: { '@_message': c.message ?? '' } };
  return base;
}

/** The suite's `<properties>`: the device (as `analysis import --junit` reads it back), its model and firmware, its pool. */
function suiteProperties(job: JobRow): Case {
  const named: [string, string][] = [
    ['device', job.deviceId ?? ''],
    ['device_model', job.deviceModel],
    ['firmware', job.deviceFirmware],
    ['devlab.pool', job.pool],
  ];
  const property = named
    .filter(([, value]) => value)
    .map(([name, value]) => ({ '@_name': name, '@_value': value }));
  return { properties: { property } };
}

/** The tests no device could run, as one suite of skipped cases naming why (not history: no device ran them). */
function unrunnableSuite(unplanned: NonNullable<JUnitInput['unplanned']>): Case {
  return {
    '@_name': 'unrunnable',
    '@_tests': unplanned.length,
    '@_failures': 0,
    '@_errors': 0,
    '@_skipped': unplanned.length,
    '@_time': '0.000',
    properties: { property: [{ '@_name': UNRUNNABLE_SUITE_PROPERTY, '@_value': 'true' }] },
    testcase: unplanned.map((u) => ({
      '@_name': u.testId,
      '@_classname': 'unrunnable',
      '@_time': '0.000',
      skipped: {
        '@_message': `no device can run it: ${u.reasons.join('; ') || 'no device matched'}`,
      },
    })),
  };
}

/**
 * A run as JUnit XML for CI systems to keep and display: one test suite per device (a job no device took
 * yet: its pool), test cases classed by the device, the pool a suite property; the tests no device could
 * run in a suite of skipped cases of their own.
 */
export function junitReport({ runId, jobs, cases, triage, unplanned }: JUnitInput): string {
  const devices = new Map<string, JobRow[]>();
  for (const job of jobs) {
    const list = devices.get(deviceOf(job));
    if (list) list.push(job);
    else devices.set(deviceOf(job), [job]);
  }
  const suites: Case[] = [...devices.entries()].map(([device, list]) => {
    const testcases = list.flatMap((job) => [
      jobCase(job, triage?.get(job.id)),
      ...(cases?.get(job.id) ?? []).map((c) => caseCase(job, c)),
    ]);
    const count = (pred: (c: Case) => boolean) => testcases.filter(pred).length;
    return {
      '@_name': device,
      '@_tests': testcases.length,
      '@_failures': count((c) => 'failure' in c),
      '@_errors': count((c) => 'error' in c),
      '@_skipped': count((c) => 'skipped' in c),
      '@_time': (list.reduce((s, j) => s + (j.durationMs ?? 0), 0) / 1000).toFixed(3),
      ...suiteProperties(list[0]!),
      testcase: testcases,
    };
  });
  if (unplanned?.length) suites.push(unrunnableSuite(unplanned));
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    format: true,
    suppressEmptyNode: true,
    // A property whose value is "true" keeps its value (XML has no attribute without one).
    suppressBooleanAttributes: false,
  });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ testsuites: { '@_name': `devlab ${runId}`, testsuite: suites } })}`;
}
