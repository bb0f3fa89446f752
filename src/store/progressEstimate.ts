// A stage's progress as the Run panel shows it: when it began, and a time estimate only once it has a basis — at
// least one unit (a block, a window, an item) computed in this stage, timed from the moment the computed units began.
// Units restored from the cache take no time, so they move the basis instead of counting towards the rate. Between
// reports the estimate counts down from the last one instead of growing with the wait.
import type { Progress } from '../pipeline/types.ts';

export interface StageProgress extends Progress {
  /** when the stage's first report came (performance.now) */
  since: number;
  /** when and where the computed units began: the stage's start, or the last unit restored from the cache */
  basis: { at: number; fraction: number };
  /** ms left as estimated at `at` (the last computed unit), if there is a basis yet */
  estimate?: { left: number; at: number };
}

/** The stage after one more report (prev: the stage so far, if it reported before). */
export function advance(prev: StageProgress | undefined, p: Progress, now: number): StageProgress {
  const since = prev?.since ?? now;
  if (p.fromCache) return { ...p, since, basis: { at: now, fraction: p.fraction } };
  const basis = prev?.basis ?? { at: now, fraction: p.fraction };
  const done = p.fraction - basis.fraction;
  const estimate =
    done > 0 && p.fraction < 1
      ? { left: ((now - basis.at) / done) * (1 - p.fraction), at: now }
      : p.fraction >= 1
        ? undefined
        : prev?.estimate;
  return { ...p, since, basis, ...(estimate ? { estimate } : {}) };
}

/** ms left in the stage at `now`, or null while there is no basis (nothing computed yet in this stage). */
export function timeLeft(s: StageProgress | undefined, now: number): number | null {
  if (!s?.estimate) return null;
  return Math.max(0, s.estimate.left - (now - s.estimate.at));
}
