import { failureSignature } from '../../../harness/results/signature.ts';
import type { Verdict } from '../../../harness/protocol/verdict.ts';
import { rng } from '../makespan.ts';
import type { ScaleDevice, ScaleTest } from './lab-shape.ts';

export interface Outcome {
  verdict: Verdict;
  durationMs: number;
  signature: string | null;
  message: string | null;
}

type Trait =
  | { kind: 'stable' }
  | { kind: 'broken'; p: number }
  | { kind: 'flaky'; p: number }
  /** A regression on one model's newer firmwares, open between two days of the history. */
  | { kind: 'model-bug'; model: string; fromFirmware: number; fromDay: number; toDay: number; p: number };

interface TestTraits {
  trait: Trait;
  baseMs: number;
  messages: { message: string; signature: string }[];
}

const INFRA = { message: 'session not created: device did not answer', signature: '' };
INFRA.signature = failureSignature(INFRA.message).hash;

/**
 * How the busy lab behaves: mostly passes; a few broken tests, flaky tests, model- and firmware-specific
 * regressions that come and go, timeouts, devices with bad days (infrastructure errors), and more
 * failures in components a build changed. Deterministic from the seed; the caller's PRNG draws verdicts.
 */
export class LabBehaviour {
  private readonly traits: TestTraits[];
  private readonly deviceFactor: number[];
  private readonly badDay: Set<string>;

  constructor(
    private readonly tests: readonly ScaleTest[],
    private readonly devices: readonly ScaleDevice[],
    spanDays: number,
    seed = 7,
  ) {
    const random = rng(seed);
    this.traits = tests.map((test) => {
      const r = random();
      const trait: Trait =
        r < 0.04
          ? { kind: 'broken', p: 0.15 + random() * 0.25 }
          : r < 0.1
            ? { kind: 'flaky', p: 0.05 + random() * 0.1 }
            : r < 0.22
              ? {
                  kind: 'model-bug',
                  model: devices[Math.floor(random() * devices.length)]!.model.model,
                  fromFirmware: Math.floor(random() * 4),
                  fromDay: Math.floor(random() * spanDays),
                  toDay: Math.floor(random() * spanDays * 1.5),
                  p: 0.3 + random() * 0.5,
                }
              : { kind: 'stable' };
      const messages = [0, 1, 2].map((k) => {
        const message = `expected ${test.component} step ${k} to finish: element [data-testid="${test.component}-${k}"] not visible after ${5000 + k * 1000} ms`;
        const stack = `Error: ${message}\n    at check${k} (/suites/${test.component}/steps.ts:${10 + k}:3)\n    at run (/suites/runner.ts:4:1)`;
        return { message, signature: failureSignature(message, stack).hash };
      });
      return { trait, baseMs: Math.round(3000 + 60_000 * random() ** 2), messages };
    });
    this.deviceFactor = devices.map(() => 0.8 + random() * 0.8);
    this.badDay = new Set();
    for (let d = 0; d < devices.length; d++) {
      for (let day = 0; day <= spanDays; day++) if (random() < 0.03) this.badDay.add(`${d}/${day}`);
    }
  }

  private failProbability(t: number, d: number, day: number, changed: boolean): number {
    const trait = this.traits[t]!.trait;
    const device = this.devices[d]!;
    let p = 0.004;
    if (trait.kind === 'broken') p = trait.p;
    if (
      trait.kind === 'model-bug' &&
      device.model.model === trait.model &&
      device.model.firmwares.indexOf(device.firmware) >= trait.fromFirmware &&
      day >= trait.fromDay &&
      day < trait.toDay
    )
      p = trait.p;
    return changed ? Math.min(0.9, p * 2 + 0.02) : p;
  }

  /** The final verdict of test `t` on device `d` on day `day` of the history. */
  outcome(t: number, d: number, day: number, changed: boolean, random: () => number): Outcome {
    const traits = this.traits[t]!;
    const test = this.tests[t]!;
    const ms = Math.round(traits.baseMs * this.deviceFactor[d]! * (0.8 + random() * 0.4));
    const infra = this.badDay.has(`${d}/${day}`) ? 0.25 : 0.004;
    if (random() < infra)
      return { verdict: 'error', durationMs: 2000 + Math.round(random() * 8000), ...INFRA };
    if (random() < this.failProbability(t, d, day, changed)) {
      const { message, signature } = traits.messages[Math.floor(random() * traits.messages.length)]!;
      if (random() < 0.15) {
        const timeout = `test timed out after ${test.timeoutMs} ms`;
        return {
          verdict: 'timed-out',
          durationMs: test.timeoutMs,
          message: timeout,
          signature: failureSignature(timeout).hash,
        };
      }
      return { verdict: 'failed', durationMs: ms, message, signature };
    }
    if (traits.trait.kind === 'flaky' && random() < traits.trait.p) {
      return { verdict: 'flaky', durationMs: ms * 2, signature: null, message: null };
    }
    return { verdict: 'passed', durationMs: ms, signature: null, message: null };
  }
}
