// Issue 3's acceptance on real runs: calibrated on tinystories (first 90%), evaluated on tinystories (last 10%).
// GPTQ beats RTN at the same bits in perplexity and in every layer's output error; same seed → same weights.
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe, type Calibration } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import type { EvalResult } from '../../src/pipeline/types.ts';
import { OptionsError } from '../../src/errors.ts';
import { MODELS, sharedGpu } from '../helpers.ts';

/** small calibration set (8 × 256 tokens), 12 evaluation windows of 256 */
const CALIB = { calib: 'tinystories', nsamples: 8, seqlen: 256, seed: 0 };

type StepSpec = { method: string } & Record<string, unknown>;

async function run(
  model: string,
  step: StepSpec,
  cal: Partial<Calibration> = {},
  skipBefore = true,
  windows = 12,
): Promise<EvalResult> {
  return runExperiment(
    { datasets: ['tinystories'], windows, skipBefore, recipe: makeRecipe({ ...CALIB, ...cal, steps: [step] }) },
    { source: folderSource(model), readText: folderReader(), gpu: await sharedGpu() },
  );
}

function compare(g: EvalResult, r: EvalResult) {
  const worse = g.quant!.layers.filter((l, i) => l.relError >= r.quant!.layers[i].relError);
  return { gptq: g.ppl.tinystories, rtn: r.ppl.tinystories, worseLayers: worse.map((l) => `${l.layer}.${l.linear}`) };
}

describe('GPTQ beats RTN on real models (calibrated and evaluated on tinystories)', () => {
  it.each([
    // opt-tiny per row (W4 22.4985 vs RTN 22.5116, W3 22.5843 vs 22.8085: margins of 0.06% and 1%) is left to the
    // full protocol; opt-tiny runs W3 in groups of 32, stories260K W4 and W3 per row
    ['opt-tiny', 3, 32, MODELS.optTiny],
    ['stories260K', 4, -1, MODELS.stories260K],
    ['stories260K', 3, -1, MODELS.stories260K],
  ] as const)('%s W%i groupsize %i', async (_, wbits, groupsize, model) => {
    const g = await run(model, { method: 'gptq', wbits, groupsize });
    const r = await run(model, { method: 'rtn', wbits, groupsize });
    const c = compare(g, r);
    console.log(`${_} W${wbits} g${groupsize}: GPTQ ${c.gptq.toFixed(4)} vs RTN ${c.rtn.toFixed(4)}`);
    expect(c.gptq).toBeLessThan(c.rtn);
    expect(c.worseLayers).toEqual([]);
  });
});

describe('determinism and options', () => {
  it('same seed, same model, same options → identical perplexity and layer errors; another seed draws other windows', async () => {
    // an equality, not a figure: a small calibration (2 × 128) and 2 evaluation windows show it as well
    const step = { method: 'gptq', wbits: 3, actOrder: true, trueSequential: true };
    const small = { nsamples: 2, seqlen: 128 };
    const a = await run(MODELS.stories260K, step, small, true, 2);
    const b = await run(MODELS.stories260K, step, small, true, 2);
    expect(b.ppl.tinystories).toBe(a.ppl.tinystories);
    expect(b.quant!.layers.map((l) => l.relError)).toEqual(a.quant!.layers.map((l) => l.relError));
    const c = await run(MODELS.stories260K, step, { ...small, seed: 1 }, true, 2);
    expect(c.quant!.layers.map((l) => l.relError)).not.toEqual(a.quant!.layers.map((l) => l.relError));
  });

  it('--hidden_layer_num quantizes and runs only the first blocks', async () => {
    const r = await run(MODELS.optTiny, { method: 'rtn', wbits: 4 }, { hiddenLayerNum: 2 });
    expect(new Set(r.quant!.layers.map((l) => l.layer))).toEqual(new Set([0, 1]));
  });

  it.each([
    [{ method: 'gptq', wbits: 9 }, {}, /--wbits must be an integer from 2 to 8/],
    [{ method: 'rtn', wbits: 1 }, {}, /--wbits must be an integer from 2 to 8/],
    [{ method: 'gptq', wbits: 4, groupsize: 48 }, {}, /--groupsize 48 does not divide the .* width 128/],
    [{ method: 'gptq', wbits: 4 }, { nsamples: 0 }, /--nsamples must be an integer from 1 to 4096/],
    [{ method: 'gptq', wbits: 4, blocksize: 256 }, {}, /--blocksize must be an integer from 1 to 128/],
  ] as const)('refuses %j %j before any work', async (step, cal, msg) => {
    await expect(run(MODELS.optTiny, step, cal)).rejects.toThrow(OptionsError);
    await expect(run(MODELS.optTiny, step, cal)).rejects.toThrow(msg);
  });

  it('refuses a calibration set shorter than one window, and an unknown one', async () => {
    await expect(
      run(MODELS.optTiny, { method: 'gptq', wbits: 4 }, { seqlen: 512, calib: 'wikitext2' }),
    ).rejects.toThrow(/needs its train split/);
    const tooShort = runExperiment(
      {
        datasets: ['tinystories'],
        windows: 1,
        recipe: makeRecipe({
          calib: 'tinyshakespeare',
          nsamples: 1,
          seqlen: 256,
          steps: [{ method: 'gptq', wbits: 4 }],
        }),
      },
      { source: folderSource(MODELS.optTiny), readText: async () => 'Once upon a time.', gpu: await sharedGpu() },
    );
    await expect(tooShort).rejects.toThrow(/shorter than one window/);
    await expect(run(MODELS.optTiny, { method: 'gptq', wbits: 4 }, { calib: 'nope' })).rejects.toThrow(
      /unknown calibration set "nope"/,
    );
  });
});
