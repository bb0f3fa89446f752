// Issue 11's acceptance on real runs, with relations on few windows (the full protocol — calibration 32 × 512, all 81
// tinystories windows — is in the closing note and `npm run bench`). Calibration tinystories 4 × 128, seed 0;
// evaluation 8 tinystories windows of 128:
//   1. the transform alone (no quantization) leaves perplexity unchanged to 1e-4 on both fixtures, and every fitted
//      rotation is orthogonal to 1e-5;
//   2. on stories260K W6A6 < W4A8 < W4A4, and at every linear input of every block max|x| after the transform is
//      below the original's; the plain per-token baseline and smoothing alone are reported, not asserted;
//   3. duquant+gptq runs and reports both steps;
//   and each reference switch changes the transform on a real layer.
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe, validateRecipe } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { memoryCache, type LabCache } from '../../src/pipeline/cache.ts';
import type { CachedBlock } from '../../src/pipeline/quantizeModel.ts';
import { transformReport, type EvalResult } from '../../src/pipeline/types.ts';
import type { DuquantSiteReport } from '../../src/quant/duquant.ts';
import type { HostRotationStep } from '../../src/model/weights.ts';
import { orthogonalityError } from '../../src/quant/rotation.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { OptionsError } from '../../src/errors.ts';
import { MODELS, loadFixture, sharedGpu } from '../helpers.ts';

const CALIB = { calib: 'tinystories', nsamples: 4, seqlen: 128, seed: 0 };
// the greedy search is the run's cost (SwiftShader runs it on the host): 32 steps here, the reference's 256 in the
// closing note's full-protocol figures; the relations asserted hold for either
const STEPS = { maxRotationStep: 32 };

async function run(
  model: string,
  duquant: Record<string, unknown>,
  opts: {
    wbits?: number;
    weight?: string;
    cache?: LabCache;
    hiddenLayerNum?: number;
    baselines?: string[];
    windows?: number;
  } = {},
): Promise<EvalResult> {
  const { wbits = 4, weight = 'rtn', cache, hiddenLayerNum, baselines, windows = 8 } = opts;
  const steps = [{ method: 'duquant', ...STEPS, ...duquant }, ...(wbits < 16 ? [{ method: weight, wbits }] : [])];
  return runExperiment(
    {
      datasets: ['tinystories'],
      windows,
      skipBefore: true,
      baselines,
      recipe: makeRecipe({ ...CALIB, hiddenLayerNum, steps }),
    },
    { source: folderSource(model), readText: folderReader(), gpu: await sharedGpu(), cache: cache ?? undefined },
  );
}

const sitesOf = (res: EvalResult) => transformReport<DuquantSiteReport>(res.quant)!.blocks;

/** every fold's orthogonal steps, from the blocks a run cached */
async function foldedSteps(cache: LabCache): Promise<HostRotationStep[]> {
  const out: HostRotationStep[] = [];
  for (const e of await cache.entries()) {
    if (e.kind !== 'block') continue;
    const b = (await cache.get<CachedBlock>(e.key))!;
    const fold = b.transform!.fold as { steps: Record<string, HostRotationStep[]> };
    out.push(...Object.values(fold.steps).flat());
  }
  return out;
}

describe.each([
  ['stories260K', MODELS.stories260K],
  ['opt-tiny', MODELS.optTiny],
] as const)('DuQuant on %s', (name, model) => {
  it('the transform alone leaves perplexity unchanged to 1e-4, and every rotation is orthogonal to 1e-5', async () => {
    const cache = memoryCache();
    const fp = await runExperiment(
      // an equality: 2 windows through the first 2 blocks show it as well as 8 through all
      { datasets: ['tinystories'], windows: 2, recipe: makeRecipe({ ...CALIB, hiddenLayerNum: 2 }) },
      { source: folderSource(model), readText: folderReader(), gpu: await sharedGpu() },
    );
    const alone = await run(model, { abits: 16 }, { wbits: 16, cache, windows: 2, hiddenLayerNum: 2 });
    const before = fp.ppl.tinystories;
    const after = alone.ppl.tinystories;
    const steps = await foldedSteps(cache);
    let worst = 0;
    for (const s of steps) {
      const blocks = s.R.length / (s.n * s.n);
      for (let b = 0; b < blocks; b++)
        worst = Math.max(
          worst,
          orthogonalityError(Float64Array.from(s.R.subarray(b * s.n * s.n, (b + 1) * s.n * s.n)), s.n),
        );
    }
    console.log(
      `${name}: FP ${before.toFixed(6)}, DuQuant transform alone ${after.toFixed(6)}; ${steps.length} rotations, worst |RᵀR − I| ${worst.toExponential(2)}`,
    );
    expect(steps.length).toBeGreaterThan(0);
    expect(Math.abs(after - before) / before).toBeLessThan(1e-4);
    expect(worst).toBeLessThan(1e-5);
  });
});

describe('DuQuant on stories260K', () => {
  const model = MODELS.stories260K;

  it('W6A6 < W4A8 < W4A4, and max|x| after the transform is below the original at every linear input', async () => {
    // the plain per-token baseline and smoothing alone run in the same experiment as W4A4 (--baselines)
    // 4 windows: the three figures are 7% and 70% apart on 8
    const w4a4 = await run(model, { abits: 4 }, { baselines: ['per-token', 'smoothing'], windows: 4 });
    const w4a8 = await run(model, { abits: 8 }, { windows: 4 });
    const w6a6 = await run(model, { abits: 6 }, { wbits: 6, windows: 4 });
    const [a, b, c] = [w6a6, w4a8, w4a4].map((r) => r.ppl.tinystories);
    const [perToken, smoothOnly] = w4a4.baselines!;
    expect([perToken.label, smoothOnly.label]).toEqual(['DuQuant W4A4 per-token', 'DuQuant W4A4 smoothing only']);
    console.log(
      `stories260K DuQuant W6A6 ${a.toFixed(4)}, W4A8 ${b.toFixed(4)}, W4A4 ${c.toFixed(4)}; per-token W4A4 ${perToken.ppl.tinystories.toFixed(4)}, smoothing alone ${smoothOnly.ppl.tinystories.toFixed(4)} (reported, not asserted)`,
    );
    expect(a).toBeLessThan(b);
    expect(b).toBeLessThan(c);
    const sites = sitesOf(w4a4);
    expect(sites).toHaveLength(5 * 4);
    for (const s of sites) {
      const first = Math.max(...s.stages[0].maxAbs);
      const last = Math.max(...s.stages.at(-1)!.maxAbs);
      expect(s.stages.map((st) => st.name)).toEqual(['original', 'smoothed', 'R1', 'perm 1', 'R2']);
      expect(last, `block ${s.layer} ${s.site}`).toBeLessThan(first);
      expect(s.error!.after).toBeGreaterThan(0);
    }
    // over every linear input, the transform lowers the per-token quantization error of the rotation input
    const mean = (k: 'before' | 'after') => sites.reduce((t, s) => t + s.error![k], 0) / sites.length;
    expect(mean('after')).toBeLessThan(mean('before'));
  });

  it('each reference switch changes the transform of a real layer', async () => {
    const rotationOf = async (o: Record<string, unknown>) => {
      const cache = memoryCache();
      await run(model, { abits: 4, ...o }, { cache, hiddenLayerNum: 1 });
      return foldedSteps(cache);
    };
    const paper = await rotationOf({});
    const refExchange = await rotationOf({ refExchange: true });
    const perBlock = await rotationOf({ rotationPerBlock: true });
    const differs = (a: HostRotationStep[], b: HostRotationStep[]) =>
      a.some((s, i) => s.R.length !== b[i].R.length || s.R.some((x, j) => Math.abs(x - b[i].R[j]) > 1e-6));
    expect(differs(paper, refExchange)).toBe(true);
    expect(differs(paper, perBlock)).toBe(true);
    // one matrix per block on the down_proj input (172 = 2 × 86): two matrices where the reference shares one
    const down = (steps: HostRotationStep[]) => steps.find((s) => s.n === 86)!;
    expect(down(paper).R.length).toBe(86 * 86);
    expect(down(perBlock).R.length).toBe(2 * 86 * 86);
  });

  it('a run resumed from its cached blocks gives the figure of an uninterrupted run', async () => {
    const cache = memoryCache();
    const whole = await run(model, { abits: 4 }, { cache, hiddenLayerNum: 3 });
    // drop the last block, as a reload in the middle of block 2 would: blocks 0–1 restore, block 2 is fitted again
    const last = (await cache.entries())
      .filter((e) => e.kind === 'block')
      .sort((x, y) => x.key.localeCompare(y.key))
      .at(-1)!;
    const kept = new Map<string, unknown>();
    for (const e of await cache.entries())
      if (e.key !== last.key && e.kind === 'block') kept.set(e.key, await cache.get(e.key));
    const partial = memoryCache();
    for (const [k, v] of kept) await partial.set(k, v, { model: 'm', kind: 'block' });
    const resumed = await run(model, { abits: 4 }, { cache: partial, hiddenLayerNum: 3 });
    expect(resumed.quant!.cachedBlocks).toBe(2);
    expect(resumed.ppl.tinystories).toBeCloseTo(whole.ppl.tinystories, 6);
  });

  it('duquant+gptq runs and reports both steps', async () => {
    const res = await run(model, { abits: 4 }, { weight: 'gptq' });
    expect(res.quant!.steps.map((s) => s.method)).toEqual(['duquant', 'gptq']);
    expect(sitesOf(res)).toHaveLength(20);
    expect(Number.isFinite(res.ppl.tinystories)).toBe(true);
    console.log(`stories260K DuQuant+GPTQ W4A4 ${res.ppl.tinystories.toFixed(4)}`);
  });
});

describe("DuQuant's options", () => {
  it('parse as the reference spells them, with --no-name for booleans, and refuse what does not apply', async () => {
    const a = parseArgs([
      'm',
      '--method',
      'duquant',
      '--no-smooth',
      '--alpha',
      '0.5',
      '--block_size',
      '64',
      '--duquant_ref_exchange',
    ]);
    expect(a.recipe.steps.map((s) => s.method)).toEqual(['duquant', 'rtn']);
    expect(a.recipe.steps[0]).toMatchObject({
      smooth: false,
      alpha: 0.5,
      blockSize: 64,
      refExchange: true,
      rotate: true,
    });
    // a non-default DuQuant option alone implies the transform, then its reference weight step
    expect(parseArgs(['m', '--no-rotate']).recipe.steps.map((s) => s.method)).toEqual(['duquant', 'rtn']);
    // --lwc trains the clip of the weight step (run_lwc.sh); --swc, when also given, takes precedence at run time
    expect(parseArgs(['m', '--method', 'duquant', '--lwc']).recipe.steps).toEqual([
      expect.objectContaining({ method: 'duquant' }),
      expect.objectContaining({ method: 'rtn', lwc: true, epochs: 20 }),
    ]);
    expect(() => parseArgs(['m', '--method', 'duquant', '--epochs', '5'])).toThrow(
      /--epochs trains the learnable clip/,
    );
    expect(() => parseArgs(['m', '--method', 'duquant+gptq', '--groupsize', '64'])).toThrow(
      /--groupsize does not apply after duquant/,
    );
    expect(() => parseArgs(['m', '--method', 'duquant', '--sym'])).toThrow(
      /--sym does not apply after duquant: .*asymmetric/,
    );
    expect(() => validateRecipe(makeRecipe({ steps: [{ method: 'duquant', abits: 16, qkLac: 1 }] }))).toThrow(
      OptionsError,
    );
    // an OPT with GELU: fc1 → fc2 smoothing would not be exact, so it is refused (and runs with --no-smooth)
    const cfg = { ...(await loadFixture(MODELS.optTiny)).config, activation: 'gelu' as const };
    expect(() => validateRecipe(makeRecipe({ steps: [{ method: 'duquant' }] }), cfg)).toThrow(
      /exact only through ReLU; this model uses gelu: add --no-smooth/,
    );
    expect(() => validateRecipe(makeRecipe({ steps: [{ method: 'duquant', smooth: false }] }), cfg)).not.toThrow();
  });
});
