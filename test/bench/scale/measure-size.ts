import { freePort } from '../../../devices/appium/free-port.ts';
import { redisConnection } from '../../../harness/queue/connection.ts';
import { labKeys } from '../../../harness/queue/names.ts';
import { removeLabKeys } from '../../../harness/queue/remove-lab-keys.ts';
import { REDIS_URL } from '../../support/services.ts';
import type { ScaleLab } from './lab-files.ts';
import { ServerProcess } from './server-process.ts';
import { ensureSeeded, scratchHome } from './store-cache.ts';
import { REQUEST_CAP_MS, type Series, series, timedPost } from './timed-series.ts';

export interface SizeResult {
  size: number;
  startupMs: number;
  /** Start-up again after a graceful stop (the history comes back from its snapshot). */
  restartMs: number;
  /** The first preview after the start (cold), then `reps` more. */
  firstPreviewMs: number;
  preview: Series;
  submit: Series;
  smoke: Series;
  /** Previews of 2,500 and 10,000 pairs (1 and 4 of the 8 device models), to set beside the 20,000. */
  pairs2500: Series;
  pairs10000: Series;
  failrate: Series;
  /** Longest event-loop stall around a submit (worst of the submits). */
  submitStallMs: number;
  trainStallMs: number;
  trainMs: number;
  trainError: string | null;
  previewDuringTraining: Series;
  rssMb: number;
  peakRssMb: number;
}

/** Previews while the model trains, until it is done (at most `max`); then waits for it. */
async function duringTraining(server: ServerProcess, url: string, max: number) {
  await server.request('reset');
  const t0 = performance.now();
  await server.request('train');
  let done = false;
  const trained = server.request('trained').finally(() => {
    done = true;
  });
  const previews = await series(max, async () => {
    if (done) throw new Error('training over');
    return timedPost(url, {});
  });
  previews.errors = previews.errors.filter((e) => e !== 'training over');
  const end = await trained;
  return { previews, stallMs: end.maxStallMs, ms: performance.now() - t0, error: end.error ?? null };
}

/**
 * One size: the cached store copied to a scratch home, the control plane started in its own process on a
 * free loopback port and its own Redis prefix, the requests timed, and everything it left removed.
 */
export async function measureSize(size: number, lab: ScaleLab, reps: number): Promise<SizeResult> {
  const file = await ensureSeeded(size, lab);
  const scratch = scratchHome(file, `${size}-${process.pid}`);
  const prefix = `bench-scale-${process.pid}-${size}`;
  const port = await freePort();
  const api = `http://127.0.0.1:${port}/api/runs`;
  process.stderr.write(`scale: ${size.toLocaleString('en')} jobs: starting the control plane\n`);
  const spec = { suitesDir: lab.suitesDir, inventoryFile: lab.inventoryFile, port };
  const env = {
    DEVLAB_HOME: scratch.home,
    DEVLAB_REDIS_URL: REDIS_URL,
    DEVLAB_REDIS_PREFIX: prefix,
    DEVLAB_API_PORT: String(port),
    DEVLAB_API_AUTH: 'false',
    DEVLAB_LOG_LEVEL: 'silent',
  };
  const server = await ServerProcess.start(spec, env, 2 * REQUEST_CAP_MS).catch((err: unknown) => {
    scratch.remove();
    throw err;
  });
  const step = (what: string) => process.stderr.write(`scale: ${size.toLocaleString('en')} jobs: ${what}\n`);
  try {
    step('first preview');
    const first = await series(1, () => timedPost(`${api}/preview`, {}));
    step('previews');
    const preview = await series(reps, () => timedPost(`${api}/preview`, {}));
    step('tag:smoke previews');
    const smoke = await series(reps, () => timedPost(`${api}/preview`, { query: 'tag:smoke' }));
    step('previews of fewer pairs');
    const pairs2500 = await series(reps, () => timedPost(`${api}/preview`, { select: 'model:AUR-55X7' }));
    const pairs10000 = await series(reps, () =>
      timedPost(`${api}/preview`, {
        select: 'model:AUR-55X7 or model:AUR-65X9 or model:STK-HD1 or model:STK-4K2',
      }),
    );
    step('failrate previews');
    const failrate = await series(reps, () => timedPost(`${api}/preview`, { query: 'failrate > 0.1' }));
    step('submits');
    let submitStallMs = 0;
    const submit = await series(reps, async () => {
      await server.request('reset');
      const ms = await timedPost(api, {});
      // The stall window ends once the run's attempts are all queued (that goes on behind the answer).
      submitStallMs = Math.max(submitStallMs, (await server.request('settled')).maxStallMs);
      return ms;
    });
    // Each submit's latency in order: an outlier first (a cold path) or anywhere (contention) reads apart.
    process.stderr.write(
      `scale: ${size.toLocaleString('en')} jobs: submits (ms) ${submit.ms.map(Math.round).join(' ')}\n`,
    );
    step('training');
    const training = await duringTraining(server, `${api}/preview`, reps);
    const { rssMb, peakRssMb } = await server.request('stats');
    step('restart (snapshot)');
    await server.stop();
    const again = await ServerProcess.start(spec, env, 2 * REQUEST_CAP_MS);
    const restartMs = again.startupMs;
    await again.stop();
    return {
      size,
      startupMs: server.startupMs,
      restartMs,
      firstPreviewMs: first.ms[0] ?? Number.NaN,
      preview,
      submit,
      smoke,
      pairs2500,
      pairs10000,
      failrate,
      submitStallMs,
      trainStallMs: training.stallMs,
      trainMs: training.ms,
      trainError: training.error,
      previewDuringTraining: training.previews,
      rssMb,
      peakRssMb,
    };
  } finally {
    await server.stop();
    const redis = redisConnection(REDIS_URL);
    await removeLabKeys(redis, labKeys(prefix));
    redis.disconnect();
    scratch.remove();
  }
}
