import type { PriorityClass } from '../../../harness/protocol/run-request.ts';
import { rng } from '../makespan.ts';
import { COMPONENTS, PARTNERS, type ScaleTest } from './lab-shape.ts';

export const SPAN_DAYS = 60;
const DAY_MS = 24 * 3600_000;

export interface RunSpec {
  id: string;
  createdAt: number;
  /** Day of the history (0 = the oldest), for the lab's behaviour. */
  day: number;
  partner: string;
  priority: PriorityClass;
  build: string;
  query: string;
  changed: string[];
  /** Indexes into the tests and devices; the run's jobs are every test × every device, test-major. */
  tests: number[];
  devices: number[];
  /** Jobs to write: tests × devices, except for the last run, cut so the history has exactly the size asked. */
  jobs: number;
}

function sample(random: () => number, n: number, k: number): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < Math.min(k, n); i++) {
    const j = i + Math.floor(random() * (n - i));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all.slice(0, Math.min(k, n)).sort((a, b) => a - b);
}

/**
 * The runs of a busy lab's last 60 days holding `size` finished jobs: about 75 % PR gates (smoke or the
 * changed components' tests on a few devices), 20 % release runs (hundreds of tests on 5-20 devices), 5 %
 * nightlies (every test on every device). Spread evenly over the span, the newest ending half a day ago.
 */
export function runMix(
  size: number,
  tests: readonly ScaleTest[],
  deviceCount: number,
  now: number,
): RunSpec[] {
  const random = rng(size % 1_000_003);
  const smoke = tests.flatMap((t, i) => (t.tags.includes('smoke') ? [i] : []));
  const specs: Omit<RunSpec, 'id' | 'createdAt' | 'day'>[] = [];
  let total = 0;
  while (total < size) {
    const r = random();
    const partner = PARTNERS[Math.floor(random() * PARTNERS.length)]!;
    let spec: Omit<RunSpec, 'id' | 'createdAt' | 'day' | 'jobs' | 'build'>;
    if (r < 0.75) {
      const changed = random() < 0.6 ? sample(random, COMPONENTS.length, 1 + Math.floor(random() * 2)) : [];
      const names: string[] = changed.map((c) => COMPONENTS[c]!);
      const picked = names.length ? tests.flatMap((t, i) => (names.includes(t.component) ? [i] : [])) : smoke;
      spec = {
        partner,
        priority: 'ci-pr',
        query: names.length ? `component in [${names.join(', ')}]` : 'tag:smoke',
        changed: names,
        tests: picked,
        devices: sample(random, deviceCount, 1 + Math.floor(random() * 6)),
      };
    } else if (r < 0.95) {
      spec = {
        partner,
        priority: 'release',
        query: '',
        changed: [],
        tests: sample(random, tests.length, 50 + Math.floor(random() * 200)),
        devices: sample(random, deviceCount, 5 + Math.floor(random() * 16)),
      };
    } else {
      const all = (n: number) => Array.from({ length: n }, (_, i) => i);
      spec = {
        partner: 'default',
        priority: 'nightly',
        query: '',
        changed: [],
        tests: all(tests.length),
        devices: all(deviceCount),
      };
    }
    const jobs = Math.min(spec.tests.length * spec.devices.length, size - total);
    total += jobs;
    specs.push({ ...spec, jobs, build: `b${1000 + Math.floor(specs.length / 8)}` });
  }
  const start = now - SPAN_DAYS * DAY_MS;
  const step = (SPAN_DAYS * DAY_MS - DAY_MS / 2) / specs.length;
  return specs.map((spec, i) => {
    const createdAt = Math.round(start + i * step + random() * step * 0.5);
    const hex = Math.floor(random() * 0xffffff)
      .toString(16)
      .padStart(6, '0');
    return {
      ...spec,
      id: `run-${createdAt.toString(36)}-${hex}`,
      createdAt,
      day: Math.floor((createdAt - start) / DAY_MS),
    };
  });
}
