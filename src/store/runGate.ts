// What the Run panel says before a run: why Run is off (the form's first problem, the model not checked yet, an export
// in flight), and what Run will reuse (blocks of this recipe already in this browser's storage, from an earlier run
// that a reload, a cancel or an error stopped).
import { canonicalJson } from '../pipeline/cache.ts';
import { describeChoice } from './modelSlice.ts';
import { recipeProblem } from './experimentSlice.ts';
import { blockIdentity } from './runSlice.ts';
import type { LabState } from './labStore.ts';

/** Why Run cannot start now (null: it can). */
export function runBlocker(s: LabState): string | null {
  if (s.status === 'running') return null;
  if (s.exporting.status === 'running') return 'An export is being written: Run starts once it is done.';
  const problem = recipeProblem(s);
  if (problem) return problem;
  const of = describeChoice(s.model);
  if (s.modelNeedsConsent)
    return (
      `Allow reading the model at ${of} first (Model panel): ` +
      "the page reads nothing from a link's URL until you do."
    );
  if (s.probe.of !== of || s.probe.status === 'idle' || s.probe.status === 'loading')
    return 'Checking the model (config.json and the safetensors headers)…';
  return null;
}

/** Blocks of the form's recipe this browser keeps, when an earlier run of it did not finish them all. */
export function resumeHint(s: LabState): { cached: number; total: number; text: string } | null {
  if (s.status === 'running') return null;
  const spec = s.spec();
  if (spec.recipe.steps.length === 0) return null;
  const known = s.knownBlocks.find((k) => k.of === blockIdentity(spec));
  if (!known) return null;
  const layers = new Set<number>();
  for (const e of s.storage.entries) {
    if (e.kind === 'block' && e.key.startsWith(known.blockKey)) layers.add(Number(e.key.slice(known.blockKey.length)));
  }
  const total =
    spec.recipe.hiddenLayerNum ??
    (s.probe.status === 'done' && s.probe.of === describeChoice(s.model) ? s.probe.info!.layers : known.blocks);
  // blocks resume in order: the first missing block is where Run starts computing
  let cached = 0;
  while (cached < total && layers.has(cached)) cached++;
  if (cached === 0) return null;
  const result = s.result && s.resultSpec && canonicalJson(s.resultSpec) === canonicalJson(spec);
  if (cached >= total) {
    return result
      ? null
      : {
          cached,
          total,
          text:
            `All ${total} blocks of this recipe are in this browser's storage: ` +
            'Run restores them and only evaluates.',
        };
  }
  return {
    cached,
    total,
    text:
      `Run resumes after block ${cached} of ${total}: ` +
      `an earlier run of this recipe left ${cached} finished block${cached > 1 ? 's' : ''} in this browser's storage.`,
  };
}
