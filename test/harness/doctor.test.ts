import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config/project-root.ts';

const run = promisify(execFile);

async function doctor(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run('npx', ['devlab', 'doctor'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '' };
  }
}

describe('devlab doctor (the CLI, against the real services)', () => {
  it('is all green after setup and exits 0', async () => {
    const { code, stdout } = await doctor({});
    expect(stdout).toContain('All required parts are present.');
    for (const name of [
      'Node.js',
      'Redis',
      'Docker engine',
      'Appium',
      'Chromium + chromedriver',
      'Chromium headless',
      'Job queue (BullMQ)',
      'TensorFlow.js backend',
      'SQLite store',
    ]) {
      expect(stdout).toMatch(new RegExp(`✔ ${name.replace(/[.+()]/g, '\\$&')}\\s`));
    }
    expect(code).toBe(0);
  });

  it('shows the Docker line red with a fix hint and exits 1 when the engine cannot be reached', async () => {
    const { code, stdout } = await doctor({ DEVLAB_DOCKER_SOCKET: '/run/devlab-no-such-docker.sock' });
    expect(stdout).toMatch(/✖ Docker engine\s+\/run\/devlab-no-such-docker.sock unreachable/);
    expect(stdout).toContain('fix: run `bash harness/setup/setup.sh`, or start the engine with `dockerd');
    expect(stdout).toMatch(/✔ Redis\s/);
    expect(code).toBe(1);
  });

  it('shows the Redis line red when Redis cannot be reached', async () => {
    const { code, stdout } = await doctor({ DEVLAB_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(stdout).toMatch(/✖ Redis\s+redis:\/\/127.0.0.1:1 unreachable/);
    expect(code).toBe(1);
  });
});
