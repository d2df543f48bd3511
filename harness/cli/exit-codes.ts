/**
 * The exit codes of devlab commands (README, "Exit codes"): 0 passed, 1 test failures
 * (`scheduler/run-status.ts` maps a run's status to 0-2), 2 an infrastructure or usage error (a server that
 * does not answer, a bad query, a suite file or inventory that does not load), and this one.
 */

/** The query selected no test, or the selector no device: nothing was planned or run. */
export const EXIT_NO_MATCH = 3;
