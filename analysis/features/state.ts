import { type Cycle, type CyclePair, pairKey } from '../history/cycles.ts';
import { type BuildFailures, recordBuildFailure } from './base-build.ts';
import { type ChangeStats, recordChange } from './change.ts';
import { flakyEvent, knownBuild } from './flakiness.ts';
import { newStats, recordRun, type Stats } from './stats.ts';

/** What the ranker knows about a pair before it runs (no verdict, no duration). */
export interface PairQuery {
  test: string;
  device: string;
  deviceModel?: string;
  firmware?: string;
  component?: string;
}

/** What is known about the cycle about to run. */
export interface CycleContext {
  timeMs?: number;
  /** What the change under test touched: components (and any other tokens the history records). */
  changed?: readonly string[];
  /** The build the change under test is based on (the run request's `baseBuild`), when known. */
  baseBuild?: string;
}

export type StatsKind =
  | 'pair'
  | 'test'
  | 'device'
  | 'model'
  | 'firmware'
  | 'testModel'
  | 'testFirmware'
  | 'component';

/** Keys of the statistics a pair touches. `undefined` when the pair lacks that attribute. */
export interface PairKeys {
  pair: string;
  test: string;
  device: string;
  model: string | undefined;
  firmware: string | undefined;
  testModel: string | undefined;
  testFirmware: string | undefined;
  component: string | undefined;
}

const SEP = '\u0000';

/** Every statistics kind, the pair's own first. */
const STATS_KINDS: readonly StatsKind[] = [
  'pair',
  'test',
  'device',
  'model',
  'firmware',
  'testModel',
  'testFirmware',
  'component',
];

/** The statistics one (test, device) counts into, for the attributes it had when cached. */
interface PairSlot {
  model: string | undefined;
  firmware: string | undefined;
  component: string | undefined;
  stats: Stats[];
}

/** A HistoryState as plain data (Maps of plain Stats objects), what `snapshot` gives and `restore` takes. */
export interface HistoryStateData {
  cycles: number;
  lastTimeMs: number;
  tables: Record<StatsKind, Map<string, Stats>>;
  testComponent: Map<string, string>;
  deviceFirmware: Map<string, string>;
  /** Learned change associations (analysis/features/change.ts); absent in older snapshots. */
  changes?: Map<string, ChangeStats>;
  /** The builds tests failed on (analysis/features/base-build.ts); absent in older snapshots. */
  buildFailures?: BuildFailures;
}

/**
 * The lab history as incremental statistics: update it with each revealed cycle (O(pairs in the
 * cycle)); read features for the next cycle from it. It never sees a cycle before `update`.
 */
export class HistoryState {
  /** Number of cycles revealed so far; the next cycle to rank has this index. */
  cycles = 0;
  lastTimeMs = Number.NaN;
  readonly tables: Record<StatsKind, Map<string, Stats>> = {
    pair: new Map(),
    test: new Map(),
    device: new Map(),
    model: new Map(),
    firmware: new Map(),
    testModel: new Map(),
    testFirmware: new Map(),
    component: new Map(),
  };
  /** Component of each test, learned from history when a query does not carry one. */
  readonly testComponent = new Map<string, string>();
  /** Firmware last seen on each device, to tell a firmware update. */
  readonly deviceFirmware = new Map<string, string>();
  /** Failures of (test, model) when a component changed, learned online (analysis/features/change.ts). */
  readonly changes = new Map<string, ChangeStats>();
  /** The last builds each test and (test, model) failed on (analysis/features/base-build.ts). */
  readonly buildFailures: BuildFailures = new Map();
  /** A cache of where each pair's outcome is counted (see `slotOf`); not part of the state's data. */
  private readonly slots = new Map<string, PairSlot>();

  /** The state as plain data (shared, not copied: serialize it at once), for a snapshot. */
  snapshot(): HistoryStateData {
    return {
      cycles: this.cycles,
      lastTimeMs: this.lastTimeMs,
      tables: this.tables,
      testComponent: this.testComponent,
      deviceFirmware: this.deviceFirmware,
      changes: this.changes,
      buildFailures: this.buildFailures,
    };
  }

  /** A state as it was when `snapshot` was taken. */
  static restore(data: HistoryStateData): HistoryState {
    const state = new HistoryState();
    state.cycles = data.cycles;
    state.lastTimeMs = data.lastTimeMs;
    for (const kind of Object.keys(state.tables) as StatsKind[]) {
      for (const [key, stats] of data.tables[kind] ?? []) state.tables[kind].set(key, stats);
    }
    for (const [test, component] of data.testComponent) state.testComponent.set(test, component);
    for (const [device, firmware] of data.deviceFirmware) state.deviceFirmware.set(device, firmware);
    for (const [key, stats] of data.changes ?? []) state.changes.set(key, stats);
    for (const [key, builds] of data.buildFailures ?? []) state.buildFailures.set(key, builds);
    return state;
  }

  keysOf(p: PairQuery): PairKeys {
    const model = p.deviceModel;
    const fw = model !== undefined && p.firmware !== undefined ? `${model}${SEP}${p.firmware}` : undefined;
    const component = p.component ?? this.testComponent.get(p.test);
    return {
      pair: `${p.test}${SEP}${p.device}`,
      test: p.test,
      device: p.device,
      model,
      firmware: fw,
      testModel: model !== undefined ? `${p.test}${SEP}${model}` : undefined,
      testFirmware: fw !== undefined ? `${p.test}${SEP}${fw}` : undefined,
      component,
    };
  }

  get(kind: StatsKind, key: string | undefined): Stats | undefined {
    return key === undefined ? undefined : this.tables[kind].get(key);
  }

  /** The statistics of every entity a pair belongs to (undefined where there is no history yet). */
  statsOf(p: PairQuery, keys: PairKeys = this.keysOf(p)): Record<StatsKind, Stats | undefined> {
    return {
      pair: this.get('pair', keys.pair),
      test: this.get('test', keys.test),
      device: this.get('device', keys.device),
      model: this.get('model', keys.model),
      firmware: this.get('firmware', keys.firmware),
      testModel: this.get('testModel', keys.testModel),
      testFirmware: this.get('testFirmware', keys.testFirmware),
      component: this.get('component', keys.component),
    };
  }

  /**
   * The statistics a pair's outcome is counted into, one per kind it has a key for (created on first
   * use), cached by (test, device) while its model, firmware and component stay the same: an update then
   * does one map lookup per pair instead of one per kind, and builds no key strings.
   */
  private slotOf(p: CyclePair, key: string, component: string | undefined): PairSlot {
    const slot = this.slots.get(key);
    if (
      slot !== undefined &&
      slot.model === p.deviceModel &&
      slot.firmware === p.firmware &&
      slot.component === component
    )
      return slot;
    const k = this.keysOf(p);
    const stats: Stats[] = [];
    for (const kind of STATS_KINDS) {
      const statsKey = k[kind];
      if (statsKey === undefined) continue;
      const table = this.tables[kind];
      let s = table.get(statsKey);
      if (!s) {
        s = newStats(this.cycles);
        table.set(statsKey, s);
      }
      stats.push(s);
    }
    const fresh: PairSlot = { model: p.deviceModel, firmware: p.firmware, component, stats };
    this.slots.set(key, fresh);
    return fresh;
  }

  /**
   * Reveals one cycle's outcomes, and what they say about its change (`recordChange`). Flakiness is decided per (test, device) from the pair's own previous
   * run (analysis/features/flakiness.ts) and counted into every entity the pair belongs to.
   */
  update(cycle: Cycle): void {
    const timeMs = cycle.timeMs ?? Number.NaN;
    for (const p of cycle.pairs) {
      if (p.component) this.testComponent.set(p.test, p.component);
      const component = p.component ?? this.testComponent.get(p.test);
      const key = p.key ?? pairKey(p.test, p.device);
      const { stats } = this.slotOf(p, key, component);
      // The pair's own statistics come first (STATS_KINDS order); a new pair's have no run yet.
      const f = flakyEvent(stats[0], p);
      const b = knownBuild(p.build);
      for (const s of stats) recordRun(s, p.failed, this.cycles, timeMs, p.durationS, f, b);
      if (cycle.changed.length > 0) recordChange(this.changes, cycle.changed, p, component);
      if (p.failed) recordBuildFailure(this.buildFailures, p.test, p.deviceModel, p.build);
      if (p.firmware) this.deviceFirmware.set(p.device, p.firmware);
    }
    this.cycles++;
    if (cycle.timeMs !== undefined) this.lastTimeMs = cycle.timeMs;
  }
}

/** What the ranker may know of a cycle's pairs before they run: ids and attributes, no verdicts. */
export function cycleQueries(cycle: Cycle): PairQuery[] {
  return cycle.pairs.map((p) => {
    const q: PairQuery = { test: p.test, device: p.device };
    if (p.deviceModel) q.deviceModel = p.deviceModel;
    if (p.firmware) q.firmware = p.firmware;
    if (p.component) q.component = p.component;
    return q;
  });
}

/** The cycle's time, changed components and base build, as the features read them. */
export function cycleContext(cycle: Cycle): CycleContext {
  const ctx: CycleContext = { changed: cycle.changed };
  if (cycle.timeMs !== undefined) ctx.timeMs = cycle.timeMs;
  if (cycle.baseBuild !== undefined) ctx.baseBuild = cycle.baseBuild;
  return ctx;
}
