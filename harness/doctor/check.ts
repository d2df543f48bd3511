/** One prerequisite of the lab, checked by `devlab doctor`. */
export interface Check {
  name: string;
  /** A required part missing makes the doctor exit 1; an optional one only warns. */
  required: boolean;
  run(): Promise<CheckResult>;
}

export interface CheckResult {
  ok: boolean;
  detail: string;
  /** What to do when it fails. */
  fix?: string;
}

export interface CheckOutcome extends CheckResult {
  name: string;
  required: boolean;
  ms: number;
}

/** Runs a check with a time limit; a check that throws or hangs fails with its reason, never crashes. */
export async function runCheck(check: Check, timeoutMs = 90_000): Promise<CheckOutcome> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `no answer after ${timeoutMs} ms` }), timeoutMs);
  });
  let result: CheckResult;
  try {
    result = await Promise.race([check.run(), timeout]);
  } catch (err) {
    result = { ok: false, detail: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
  return { ...result, name: check.name, required: check.required, ms: Date.now() - started };
}
