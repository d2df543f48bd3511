/** The run as the API shows it, as far as the CLI reads it. */
export interface RunStatusView {
  id: string;
  status: string;
  done: boolean;
  counts: Record<string, number>;
  total: number;
  createdAt: number;
  startedAt: number | null;
  /** Per device: jobs done, test failures, infrastructure errors (older servers: none), total. */
  devices?: Record<string, { done: number; failed: number; errors?: number; total: number }>;
}

/** What went wrong on a device: test failures (✖) and infrastructure errors (E), kept apart. */
function trouble(c: { failed: number; errors?: number }): string {
  const parts = [c.failed ? `${c.failed}✖` : '', c.errors ? `${c.errors}E` : ''].filter(Boolean);
  return parts.length > 0 ? ` (${parts.join(' ')})` : '';
}

/** Per-device progress, busiest first: `tv-4k 3/5 (1✖ 1E)`. */
export function deviceLine(run: RunStatusView): string {
  return Object.entries(run.devices ?? {})
    .filter(([, c]) => c.total > 0)
    .sort((a, b) => b[1].total - a[1].total)
    .map(([id, c]) => `${id.replace(/^[a-z]+:/, '').replace(/#.*$/, '')} ${c.done}/${c.total}${trouble(c)}`)
    .join(' · ');
}

const ORDER = ['passed', 'flaky', 'failed', 'timed-out', 'error', 'skipped', 'cancelled', 'pending'];

/** One progress line: finished/total, counts per verdict, ETA from the pace so far. */
export function progressLine(run: RunStatusView, now: number): string {
  const pending = run.counts['pending'] ?? 0;
  const finished = run.total - pending;
  const counts = ORDER.filter((v) => run.counts[v])
    .map((v) => `${v} ${run.counts[v]}`)
    .join(', ');
  const since = run.startedAt ?? run.createdAt;
  let eta = '';
  if (!run.done && finished > 0 && pending > 0) {
    const perJob = (now - since) / finished;
    eta = ` · ETA ${Math.ceil((perJob * pending) / 1000)} s`;
  }
  return `${run.id} ${run.status} ${finished}/${run.total} · ${counts || 'queued'}${eta}`;
}
