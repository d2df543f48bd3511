import { vi } from 'vitest';

/** What an in-process CLI invocation printed and the exit code it set. */
export interface CliOutput {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/**
 * Runs an in-process CLI invocation (`parse`) with stdout and stderr captured, and returns what it printed
 * and the `process.exitCode` it left (reset afterwards, so one invocation's code never leaks into the next).
 */
export async function captureCli(parse: () => Promise<unknown>): Promise<CliOutput> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  process.exitCode = undefined;
  try {
    await parse();
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { stdout, stderr, exitCode };
}
