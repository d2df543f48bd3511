import { InfrastructureError } from '../../devices/errors.ts';
import type { TestDefinition } from '../../suites/test-api.ts';
import type { JobPayload } from '../protocol/job.ts';

/** The test bodies an agent can run: its catalog's, with their content hashes. */
export interface TestBodies {
  tests: ReadonlyMap<string, TestDefinition>;
  /** The catalog content hash of each body (suites/catalog/content-hash.ts). */
  testHashes?: ReadonlyMap<string, string>;
}

/**
 * The body this agent runs for the attempt: the one its catalog has under the job's test id, and only
 * if its content hash is the one the job was planned with (an agent on another checkout would run
 * another body under the same id). Otherwise an infrastructure error saying why, naming both hashes:
 * the attempt goes to another device, and nothing runs here.
 */
export function testBody(bodies: TestBodies, payload: JobPayload): TestDefinition {
  const test = bodies.tests.get(payload.testId);
  if (!test)
    throw new InfrastructureError(
      `test ${payload.testId} is not in this agent's catalog (is the agent's checkout current?)`,
    );
  if (payload.testHash === undefined) return test;
  const mine = bodies.testHashes?.get(payload.testId);
  if (mine !== payload.testHash)
    throw new InfrastructureError(
      `test ${payload.testId}: content hash mismatch, not run: the job was planned with ${payload.testHash}, this agent's body has ${mine ?? 'no content hash'} (the agent's checkout of the suites differs from the control plane's)`,
    );
  return test;
}
