// The baselines a recipe's steps offer (--baselines, the page's checkbox): the transform's other settings (RPTQ's
// groupings without reorder, DuQuant's per-token and smoothing alone), then the weight step's (CLAQ: GPTQ).
import { METHODS } from './index.ts';
import { makeRecipe, resolveSteps, type QuantRecipe } from './recipe.ts';

export function allBaselines(r: QuantRecipe): string[] {
  const { transform, weight } = resolveSteps(r);
  return [transform, weight].flatMap((s) => s?.baselines().map((b) => b.name) ?? []);
}

/** The names a chain's steps offer with default options, for the form ("rptq+claq" → contiguous, tensor, gptq). */
export function baselineNames(chain: string): string[] {
  return chain
    .split('+')
    .filter((n) => METHODS[n])
    .flatMap((n) => {
      const { transform, weight } = resolveSteps(makeRecipe({ steps: [{ method: n }] }));
      return [transform, weight].flatMap((b) => b?.baselines().map((x) => x.name) ?? []);
    });
}
