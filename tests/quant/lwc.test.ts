// Issue 24's acceptance on small runs (the full protocol — calibration 32 × 512, 81 windows, 20 epochs — is in the
// closing note): learnable weight clipping trained block by block behind DuQuant's transform.
//   1. every block's loss falls from its first to its last epoch, and each layer reports its error without the
//      learned clip beside the error with it;
//   2. --backend reference (the TypeScript twins) gives the WebGPU figure within 1% (2 × 128, 4 windows, 2 epochs);
//   3. --swc takes precedence over --lwc, as in the reference, and the run says so;
//   4. a run resumed from its cached blocks gives the figure of an uninterrupted one;
//   5. links and saved forms from before the option moved to the weight step still open.
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe, withoutRetired } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { memoryCache, type LabCache } from '../../src/pipeline/cache.ts';
import { weightReport, type EvalResult } from '../../src/pipeline/types.ts';
import { MODELS, sharedGpu } from '../helpers.ts';

const CALIB = { calib: 'tinystories', nsamples: 2, seqlen: 128, seed: 0 };
// few steps here (2 windows × a few epochs), so a larger rate than the reference's 1e-2 moves the clip visibly
const TRAIN = { lwc: true, epochs: 6, lwcLr: 0.1 };

async function run(
  duquant: Record<string, unknown>,
  rtn: Record<string, unknown>,
  opts: { cache?: LabCache; hiddenLayerNum?: number; windows?: number; reference?: boolean } = {},
): Promise<EvalResult> {
  const { cache, hiddenLayerNum, windows = 2, reference = false } = opts;
  const steps = [
    { method: 'duquant', maxRotationStep: 8, abits: 4, ...duquant },
    { method: 'rtn', wbits: 4, ...rtn },
  ];
  return runExperiment(
    {
      datasets: ['tinystories'],
      windows,
      seqlen: 128,
      skipBefore: true,
      recipe: makeRecipe({ ...CALIB, hiddenLayerNum, steps }),
      backend: reference ? 'reference' : 'webgpu',
    },
    {
      source: folderSource(MODELS.stories260K),
      readText: folderReader(),
      ...(reference ? {} : { gpu: await sharedGpu() }),
      cache: cache ?? undefined,
    },
  );
}

const training = (r: EvalResult) => weightReport(r.quant)!.clipTraining!;

describe('learnable weight clipping on stories260K (DuQuant, RTN W4 weights)', () => {
  it('every block trained: its loss falls from the first epoch to the last; layers report the error without the clip', async () => {
    // W4A16: the loss is the weights' alone (at W4A4 the activations' noise hides a few steps' gain; the closing
    // note's full protocol shows W4A4 falling too)
    const res = await run({ abits: 16 }, TRAIN, { hiddenLayerNum: 2 });
    const t = training(res);
    console.log(
      `LWC W4A16, 2 × 128, 6 epochs at lr 0.1: ${t.blocks.map((b) => `block ${b.layer} ${b.losses.map((l) => l.toExponential(3)).join(' ')}`).join('; ')}; ` +
        `ppl ${res.ppl.tinystories.toFixed(4)}; ${t.steps} steps, forward ${t.ms.forward.toFixed(0)} ms, ` +
        `backward ${t.ms.backward.toFixed(0)} ms, optimizer ${t.ms.optimizer.toFixed(0)} ms`,
    );
    expect(t.blocks.map((b) => b.layer)).toEqual([0, 1]);
    for (const b of t.blocks) {
      expect(b.losses).toHaveLength(6);
      expect(b.stopped).toBeUndefined();
      expect(b.losses.at(-1)!, `block ${b.layer}`).toBeLessThan(b.losses[0]);
    }
    expect(t.steps).toBe(2 * 6 * 2);
    for (const l of res.quant!.layers) expect(l.relErrorUntrained, `${l.layer}.${l.linear}`).toBeGreaterThan(0);
  });

  it('--backend reference (the twins) gives the WebGPU figure within 1% (2 × 128, 4 windows, 2 epochs, 3 blocks)', async () => {
    const o = { lwc: true, epochs: 2 };
    const gpu = await run({}, o, { windows: 4, hiddenLayerNum: 3 });
    const ref = await run({}, o, { windows: 4, hiddenLayerNum: 3, reference: true });
    console.log(`LWC 2 epochs: WebGPU ${gpu.ppl.tinystories}, reference ${ref.ppl.tinystories}`);
    expect(Math.abs(ref.ppl.tinystories / gpu.ppl.tinystories - 1)).toBeLessThan(0.01);
    expect(training(ref).blocks).toHaveLength(3);
  });

  it('--swc takes precedence over --lwc: nothing is trained, the figure is the static clip, and the run says so', async () => {
    const both = await run({ swc: 0.8 }, { lwc: true, epochs: 2 }, { hiddenLayerNum: 2 });
    const swc = await run({ swc: 0.8 }, {}, { hiddenLayerNum: 2 });
    expect(training(both).blocks).toEqual([]);
    expect(training(both).note).toMatch(/--swc 0\.8 takes precedence over --lwc/);
    expect(both.ppl.tinystories).toBe(swc.ppl.tinystories);
  });

  it('a run resumed from its cached blocks gives the figure of an uninterrupted run, losses included', async () => {
    const cache = memoryCache();
    const o = { lwc: true, epochs: 2 };
    const whole = await run({}, o, { cache, hiddenLayerNum: 3 });
    const blocks = (await cache.entries()).filter((e) => e.kind === 'block').sort((x, y) => x.key.localeCompare(y.key));
    const partial = memoryCache();
    for (const e of blocks.slice(0, -1))
      await partial.set(e.key, await cache.get(e.key), { model: 'm', kind: 'block' });
    const resumed = await run({}, o, { cache: partial, hiddenLayerNum: 3 });
    expect(resumed.quant!.cachedBlocks).toBe(2);
    expect(resumed.ppl.tinystories).toBeCloseTo(whole.ppl.tinystories, 6);
    expect(training(resumed).blocks.map((b) => b.losses)).toEqual(training(whole).blocks.map((b) => b.losses));
  });
});

describe('the option that moved', () => {
  it("an old link's or form's duquant lwc: false is dropped; any other value stays (and is refused by the schema)", () => {
    expect(withoutRetired('duquant', { abits: 4, lwc: false })).toEqual({ abits: 4 });
    expect(withoutRetired('duquant', { abits: 4, lwc: true })).toEqual({ abits: 4, lwc: true });
    expect(withoutRetired('rtn', { lwc: false })).toEqual({ lwc: false });
  });
});
