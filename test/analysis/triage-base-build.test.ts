import { describe, expect, it } from 'vitest';
import { HistoryState } from '../../analysis/features/state.ts';
import { groupCycles } from '../../analysis/history/cycles.ts';
import type { HistoryRow, Verdict } from '../../analysis/history/row.ts';
import { triageFailure } from '../../analysis/triage/triage.ts';
import { TriageState } from '../../analysis/triage/triage-state.ts';

const row = (cycle: number, test: string, verdict: Verdict, build: string): HistoryRow => ({
  cycle: String(cycle),
  test,
  device: 'stb-2',
  verdict,
  durationS: 5,
  build,
});

/** The history state and the triage trails of the same rows. */
function historyOf(rows: HistoryRow[]): { state: HistoryState; trails: TriageState } {
  const state = new HistoryState();
  const trails = new TriageState();
  for (const c of groupCycles(rows)) {
    state.update(c);
    trails.update(c);
  }
  return { state, trails };
}

/** As the reference lab has it: the base build ran media and boot on stb-2 (media failed), never drm. */
const BASE = [row(1, 'media', 'fail', 'main-1'), row(1, 'boot', 'pass', 'main-1')];

describe('triage evidence about the base build claims only what the history holds', () => {
  const { state, trails } = historyOf([...BASE, row(2, 'drm', 'pass', 'pr-0')]);
  const triage = (test: string, device = 'stb-2') =>
    triageFailure({ test, device, outcome: 'fail', baseBuild: 'main-1' }, state, trails);

  it('a test that never ran on the device: new, and the base build ran there without it', () => {
    const t = triage('player', 'stb-2');
    expect(t.label).toBe('new');
    expect(t.evidence).toMatchObject({ runs: 0, baseBuild: { runsOnDevice: 1, failures: 0 } });
    // Not "did not fail on the base build here": it never ran there.
    expect(t.summary).toBe(
      'new: first run of this test on this device; the base build main-1 ran on this device 1 time(s), never this test',
    );
  });

  it('a test that passed here before: new, with no failure of it among the base build\u2019s runs here', () => {
    const t = triage('drm');
    expect(t.label).toBe('new');
    expect(t.summary).toMatch(
      /^new: likely from this change; passed its last 1 run\(s\) on this device \(last: run 2\); no failure of it in the base build main-1's 1 run\(s\) on this device$/,
    );
  });

  it('a device the base build never ran on says so; a failure on the base build is known', () => {
    expect(triage('media', 'tv-9').summary).toBe(
      'new: first run of this test on this device; the base build main-1 never ran on this device in the history held',
    );
    expect(triage('media').summary).toMatch(
      /^known: failed on the base build main-1 on this device 1 time\(s\)/,
    );
  });
});
