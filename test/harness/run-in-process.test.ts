import { describe, expect, it } from 'vitest';
import { runInProcess } from '../../harness/history/run-in-process.ts';

const FIXTURE = new URL('../support/process-fixture.ts', import.meta.url);

describe('helper processes (training, the report)', () => {
  it("answers with the module's result, at a lower CPU priority than the control plane", async () => {
    expect(await runInProcess<number>(FIXTURE, { kind: 'double', n: 21 })).toBe(42);
    expect(await runInProcess<number>(FIXTURE, { kind: 'priority' })).toBe(10);
  }, 30_000);

  it("rejects with the module's error, naming the module", async () => {
    await expect(runInProcess(FIXTURE, { kind: 'fail' })).rejects.toThrow(
      /process-fixture\.ts: Error: fixture failed on purpose/,
    );
  }, 30_000);
});
