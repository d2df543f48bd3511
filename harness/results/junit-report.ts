import { XMLBuilder } from 'fast-xml-parser';
import { INFRASTRUCTURE_ERROR_TYPE } from '../../analysis/history/junit.ts';
import type { CaseResult } from '../protocol/job.ts';
import { isTestFailure } from '../protocol/verdict.ts';
import type { JobRow } from '../store/jobs-repo.ts';

export interface JUnitInput {
  runId: string;
  jobs: readonly JobRow[];
  /** JUnit cases a container test reported, by job id: they become test cases of their own. */
  cases?: ReadonlyMap<string, readonly CaseResult[]>;
}

type Case = Record<string, unknown>;

function jobCase(job: JobRow): Case {
  const base: Case = {
    '@_name': job.testId,
    '@_classname': job.pool,
    '@_time': ((job.durationMs ?? 0) / 1000).toFixed(3),
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
    '@_classname': c.classname || job.pool,
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

/** A run as JUnit XML, one test suite per device pool, for CI systems to keep and display. */
export function junitReport({ runId, jobs, cases }: JUnitInput): string {
  const pools = new Map<string, JobRow[]>();
  for (const job of jobs) pools.set(job.pool, [...(pools.get(job.pool) ?? []), job]);
  const suites = [...pools.entries()].map(([pool, list]) => {
    const testcases = list.flatMap((job) => [
      jobCase(job),
      ...(cases?.get(job.id) ?? []).map((c) => caseCase(job, c)),
    ]);
    const count = (pred: (c: Case) => boolean) => testcases.filter(pred).length;
    return {
      '@_name': pool,
      '@_tests': testcases.length,
      '@_failures': count((c) => 'failure' in c),
      '@_errors': count((c) => 'error' in c),
      '@_skipped': count((c) => 'skipped' in c),
      '@_time': (list.reduce((s, j) => s + (j.durationMs ?? 0), 0) / 1000).toFixed(3),
      testcase: testcases,
    };
  });
  const builder = new XMLBuilder({ ignoreAttributes: false, format: true, suppressEmptyNode: true });
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ testsuites: { '@_name': `devlab ${runId}`, testsuite: suites } })}`;
}
