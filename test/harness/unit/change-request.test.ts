import { describe, expect, it } from 'vitest';
import { selectForConfidence } from '../../../harness/planner/budget.ts';
import { changedComponents, componentMatcher } from '../../../harness/history/change-components.ts';
import { changeFromFlags } from '../../../harness/cli/change-flags.ts';
import { requestComponents, runRequestSchema } from '../../../harness/protocol/run-request.ts';

const MAP = { player: ['src/player/**'], drm: ['src/drm/**', 'native/widevine/*.c'] };

describe('the change under test', () => {
  it('maps changed paths to components with the config globs', () => {
    const match = componentMatcher(MAP);
    expect(match(['src/player/a/b.ts', './native/widevine/cdm.c', 'docs/x.md'])).toEqual(['drm', 'player']);
    expect(match(['docs/x.md'])).toEqual([]);
    expect(changedComponents(['ui'], ['src/player/p.ts'], match)).toEqual(['player', 'ui']);
  });

  it('travels in the run request beside baseBuild, and its components join the older changedComponents', () => {
    const change = changeFromFlags({ commit: 'abc123', changedPaths: ['src/drm/k.ts'], changed: 'ui' }, MAP);
    expect(change).toEqual({ commit: 'abc123', changedPaths: ['src/drm/k.ts'], components: ['drm', 'ui'] });
    const request = runRequestSchema.parse({
      baseBuild: 'main-1',
      change,
      options: { changedComponents: ['epg'] },
    });
    expect(requestComponents(request)).toEqual(['drm', 'epg', 'ui']);
    expect(changeFromFlags({}, MAP)).toBeUndefined();
    expect(runRequestSchema.safeParse({ change: { paths: ['x'] } }).success).toBe(false);
    expect(runRequestSchema.safeParse({ options: { confidence: 1 } }).success).toBe(false);
  });

  it('--confidence keeps the riskiest jobs per second until their predicted recall reaches it', () => {
    const jobs = [
      { id: 'a', score: 0.6, estDurationMs: 3000 },
      { id: 'b', score: 0.3, estDurationMs: 1000 },
      { id: 'c', score: 0.1, estDurationMs: 1000 },
    ];
    const cut = selectForConfidence(jobs, 0.8);
    expect(cut.selected.map((j) => j.id)).toEqual(['b', 'a']);
    expect(cut.selectedMs).toBe(4000);
    expect(cut.skipped.map((s) => s.candidate.id)).toEqual(['c']);
    expect(cut.skipped[0]!.reason).toMatch(/confidence 0.8: .*predicted recall of 90.0%/);
  });
});
