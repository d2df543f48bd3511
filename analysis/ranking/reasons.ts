import type { CycleContext, HistoryState, PairQuery } from '../features/state.ts';
import { describeFlakiness, isFlakyNow } from '../features/flakiness.ts';
import { buildTestModelKey, failedOnBuild } from '../features/base-build.ts';
import { testModelKey } from '../features/change.ts';
import { recentFails, type Stats } from '../features/stats.ts';

function lastK(s: Stats | undefined, k: number): { fails: number; runs: number } {
  if (!s) return { fails: 0, runs: 0 };
  const runs = Math.min(k, s.runs);
  return { fails: recentFails(s, runs), runs };
}

/** Human-readable reasons for a pair's risk, strongest first, from the history statistics. */
export function explainPair(state: HistoryState, q: PairQuery, ctx: CycleContext, max = 4): string[] {
  const out: string[] = [];
  const k = state.keysOf(q);
  const c = state.cycles;
  const { pair, test, testFirmware: testFw, testModel, firmware: fw, device, model } = state.statsOf(q, k);

  const fwRecent = lastK(testFw, 5);
  if (fwRecent.fails > 0)
    out.push(
      `failed ${fwRecent.fails} of the last ${fwRecent.runs} runs on firmware ${q.firmware} (${q.deviceModel})`,
    );
  const pairRecent = lastK(pair, 5);
  if (pairRecent.fails > 0)
    out.push(`failed ${pairRecent.fails} of the last ${pairRecent.runs} runs on this device`);
  if (
    q.deviceModel !== undefined &&
    failedOnBuild(state.buildFailures, buildTestModelKey(q.test, q.deviceModel), ctx.baseBuild)
  )
    out.push(`failed on the base build ${ctx.baseBuild} (${q.deviceModel})`);
  if (k.firmware !== undefined && (!fw || c - fw.firstCycle < 3))
    out.push(`new firmware ${q.firmware} on model ${q.deviceModel}`);
  else if (k.testFirmware !== undefined && !testFw && (testModel?.runs ?? 0) > 0)
    out.push(`first run on firmware ${q.firmware}`);
  if (!test) out.push('new test');
  if (!device) out.push('new device');
  else if (!pair && test) out.push('first run of this test on this device');
  if (k.component !== undefined && (ctx.changed ?? []).includes(k.component))
    out.push(`component ${k.component} changed`);
  // Learned from earlier cycles: changes to this component broke this test on this model before.
  for (const token of ctx.changed ?? []) {
    if (q.deviceModel === undefined) break;
    const s = state.changes.get(testModelKey(token, q.test, q.deviceModel));
    if (s && s.fails > 0) {
      out.push(`failed in ${s.fails} of ${s.runs} runs on ${q.deviceModel} when ${token} changed`);
      break;
    }
  }
  if (pair && pair.lastFailCycle >= 0 && pairRecent.fails === 0)
    out.push(`last failed on this device ${c - pair.lastFailCycle} cycles ago`);
  const testRecent = lastK(test, 10);
  if (testRecent.fails > 0 && pairRecent.fails === 0)
    out.push(`failed ${testRecent.fails} of its last ${testRecent.runs} runs on any device`);
  // Flaky per (test, device): retries and same-build flips on this device, never other devices' verdicts.
  if (pair && isFlakyNow(pair)) out.push(`flaky: ${describeFlakiness(pair)}`);
  if (model && model.runs >= 10 && model.ewmaSlow > 0.15)
    out.push(`model ${q.deviceModel} fails often (${Math.round(model.ewmaSlow * 100)}% recently)`);
  return out.slice(0, max);
}
