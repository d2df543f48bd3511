import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../harness/config/config.ts';
import { runDemo } from '../../harness/lab/demo.ts';
import { Store } from '../../harness/store/store.ts';
import { DOCKER_SOCKET, dockerUp, redisUp, requireService } from '../support/services.ts';

describe('devlab demo (real services, Appium, two agent processes)', async () => {
  const up = (await requireService('Redis', redisUp)) && (await requireService('Docker engine', dockerUp));
  const home = mkdtempSync(path.join(tmpdir(), 'devlab-demo-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it.skipIf(!up)(
    'runs a history run and a risk-ordered PR run, then leaves nothing behind',
    { timeout: 240_000 },
    async () => {
      const lines: string[] = [];
      const config = loadConfig({ env: { ...process.env, DEVLAB_HOME: home } });
      const result = await runDemo(config, {
        // Small: one failing HEVC fallback pair and a passing one on each driver kind.
        query: 'id in [app.playback.hevc-title-fallback, app.smoke.home-loads, stb.conformance.media]',
        select: 'id in [stick-1080p, tv-4k-hdr, stb-ref-r2-lite]',
        agents: ['agent-a', 'agent-b'],
        runTimeoutMs: 90_000,
        log: (line) => {
          lines.push(line);
          if (process.env['DEMO_DEBUG']) console.log(line);
        },
      });
      expect(result.exitCode).toBe(0);
      expect(result.runs).toHaveLength(2);
      for (const run of result.runs) expect(['passed', 'failed', 'error']).toContain(run.status);

      const store = Store.open(path.join(home, 'demo', 'devlab.db'));
      try {
        const [history, pr] = result.runs.map((r) => store.jobs.listByRun(r.id));
        const failedBefore = new Set(
          history!.filter((j) => j.verdict === 'failed').map((j) => `${j.testId}@${j.pool}`),
        );
        // HEVC fallback fails on the H.264-only stick (defect D1): the history has a failure to learn from.
        const fallback = history!.find(
          (j) => j.testId === 'app.playback.hevc-title-fallback' && j.deviceId === 'stick-1080p',
        );
        expect(fallback?.verdict).toBe('failed');
        // The PR run puts a pair that failed before first, and says why.
        const first = pr!.find((j) => j.seq === 0)!;
        expect(failedBefore.has(`${first.testId}@${first.pool}`)).toBe(true);
        expect(first.reasons.join(' ')).toMatch(/failed/);
      } finally {
        store.close();
      }
      expect(lines.join('\n')).toMatch(/2\/2 PR run/);
      const report = readFileSync(result.reportPath!, 'utf8');
      expect(report).toContain('<svg');
      expect(report).toContain('app.playback.hevc-title-fallback');
      // The model check: an online evaluation of a generated lab history, with its charts and numbers.
      expect(lines.join('\n')).toMatch(/model +APFD 0\.\d{3}, first failure after/);
      const check = readFileSync(result.modelCheckPath!, 'utf8');
      expect(check).toContain('APFD per cycle against the baselines');
      expect(check).toContain('pairs scored by model');
      const metrics = JSON.parse(
        readFileSync(path.join(path.dirname(result.modelCheckPath!), 'metrics.json'), 'utf8'),
      ) as { cycles: number; trustedFailingCycles: number };
      expect(metrics.cycles).toBe(300);
      expect(metrics.trustedFailingCycles).toBeGreaterThan(0);
      const docker = new Docker({ socketPath: DOCKER_SOCKET });
      const left = await docker.listContainers({
        all: true,
        filters: { label: ['devlab.agent=agent-a', 'devlab.agent=agent-b'] },
      });
      expect(left).toHaveLength(0);
      expect((await fetch('http://127.0.0.1:4723/status').catch(() => null))?.ok ?? false).toBe(false);
    },
  );
});
