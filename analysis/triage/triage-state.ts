import { knownBuild } from '../features/flakiness.ts';
import { type Cycle, pairKey } from '../history/cycles.ts';

/** What a pair's last run ended as, for triage: flaky = failed, then passed on a retry. */
export type TrailVerdict = 'pass' | 'fail' | 'flaky';

/** The recent runs of one (test, device), as evidence: fixed size, whatever the history's length. */
export interface PairTrail {
  lastRun: string;
  lastMs: number;
  lastVerdict: TrailVerdict;
  /** The last failed run ('' and NaN: never failed). */
  lastFailRun: string;
  lastFailMs: number;
  /** Failed runs in a row up to the last run (0 when it did not fail), and the first of them. */
  streak: number;
  streakSinceRun: string;
  streakSinceMs: number;
}

/** A pair's failures on one build. */
export interface BuildFailure {
  fails: number;
  firstRun: string;
  firstMs: number;
  lastRun: string;
  lastMs: number;
}

/** What the history holds of one build: how often it ran (per device) and which pairs failed on it. */
export interface BuildRecord {
  runs: number;
  lastRun: string;
  lastMs: number;
  /** Runs of the build on each device. */
  devices: Map<string, number>;
  /** Only the pairs that failed on the build (pairKey). */
  failing: Map<string, BuildFailure>;
}

/** Builds kept per history (the most recently run): a base build is a recent one. */
export const MAX_BUILDS = 200;

/** A TriageState as plain data, for a snapshot (v8 serialization). */
export interface TriageStateData {
  trails: Map<string, PairTrail>;
  builds: Map<string, BuildRecord>;
}

/**
 * The failure-triage side of one history (a partner's own runs): each pair's recent trail and each
 * recent build's failures, updated with each revealed cycle in O(pairs in the cycle); memory grows with
 * pairs and with failures on the last MAX_BUILDS builds, never with the number of runs.
 */
export class TriageState {
  readonly trails = new Map<string, PairTrail>();
  readonly builds = new Map<string, BuildRecord>();

  snapshot(): TriageStateData {
    return { trails: this.trails, builds: this.builds };
  }

  static restore(data: TriageStateData): TriageState {
    const state = new TriageState();
    for (const [k, v] of data.trails) state.trails.set(k, v);
    for (const [k, v] of data.builds) state.builds.set(k, v);
    return state;
  }

  trail(test: string, device: string): PairTrail | undefined {
    return this.trails.get(pairKey(test, device));
  }

  build(build: string | undefined): BuildRecord | undefined {
    const b = knownBuild(build);
    return b === '' ? undefined : this.builds.get(b);
  }

  /** Reveals one cycle (a finished run). */
  update(cycle: Cycle): void {
    const at = cycle.timeMs ?? Number.NaN;
    const seen = new Set<string>();
    for (const p of cycle.pairs) {
      const key = p.key ?? pairKey(p.test, p.device);
      const verdict: TrailVerdict = p.mixed ? 'flaky' : p.failed ? 'fail' : 'pass';
      const failed = verdict === 'fail';
      let t = this.trails.get(key);
      if (!t) {
        t = {
          lastRun: '',
          lastMs: Number.NaN,
          lastVerdict: 'pass',
          lastFailRun: '',
          lastFailMs: Number.NaN,
          streak: 0,
          streakSinceRun: '',
          streakSinceMs: Number.NaN,
        };
        this.trails.set(key, t);
      }
      t.lastRun = cycle.id;
      t.lastMs = at;
      t.lastVerdict = verdict;
      if (failed) {
        t.lastFailRun = cycle.id;
        t.lastFailMs = at;
        if (t.streak === 0) {
          t.streakSinceRun = cycle.id;
          t.streakSinceMs = at;
        }
        t.streak++;
      } else t.streak = 0;
      const build = knownBuild(p.build);
      if (build !== '') this.recordBuild(build, key, p.device, cycle.id, at, failed, seen);
    }
  }

  private recordBuild(
    build: string,
    key: string,
    device: string,
    run: string,
    at: number,
    failed: boolean,
    seen: Set<string>,
  ): void {
    let b = this.builds.get(build);
    if (!b || !seen.has(build)) {
      seen.add(build);
      b ??= { runs: 0, lastRun: '', lastMs: Number.NaN, devices: new Map(), failing: new Map() };
      // Most recently run last: the oldest build is the first to go.
      this.builds.delete(build);
      this.builds.set(build, b);
      if (this.builds.size > MAX_BUILDS) this.builds.delete(this.builds.keys().next().value as string);
      b.runs++;
      b.lastRun = run;
      b.lastMs = at;
    }
    const deviceRun = `${build}\u0000${device}`;
    if (!seen.has(deviceRun)) {
      seen.add(deviceRun);
      b.devices.set(device, (b.devices.get(device) ?? 0) + 1);
    }
    if (!failed) return;
    const f = b.failing.get(key);
    if (f) {
      f.fails++;
      f.lastRun = run;
      f.lastMs = at;
    } else b.failing.set(key, { fails: 1, firstRun: run, firstMs: at, lastRun: run, lastMs: at });
  }
}
