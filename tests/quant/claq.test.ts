// CLAQ (issue 12): the column loop kernel against its twin on real layers (opt-tiny block 1 fc1 [512, 128] and
// fc2 [128, 512], Hessians from real activations), the layer-level relations to GPTQ, the exact bit count by hand,
// adaptive precision, the reference's outlier-index switch, option errors, and the model-level relations on real runs.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ref from '../../src/gpu/reference.ts';
import { gpuBackend, referenceBackend, type Backend } from '../../src/gpu/backend.ts';
import { adaptiveBits, claq, outlierCounts, type ClaqOptions } from '../../src/quant/claq.ts';
import { actOrder, gptq } from '../../src/quant/gptq.ts';
import { completeStep, makeRecipe, validateRecipe } from '../../src/quant/recipe.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { meanBits } from '../../src/pipeline/bits.ts';
import type { EvalResult } from '../../src/pipeline/types.ts';
import { MODELS, sharedGpu } from '../helpers.ts';
import { hessianLoss, hessianOf, optTinyBlock1 } from './optTinyLayers.ts';

let X128: ref.CpuTensor; // fc1 inputs [T, 128]
let X512: ref.CpuTensor; // fc2 inputs [T, 512]
let W1: Float32Array; // fc1 [512, 128]
let W2: Float32Array; // fc2 [128, 512]

beforeAll(async () => {
  const l = await optTinyBlock1();
  ({ X128, X512 } = l);
  [W1, W2] = [l.W1.data, l.W2.data];
});

const opts = (o: Partial<ClaqOptions>): ClaqOptions => completeStep({ method: 'claq', ...o }) as unknown as ClaqOptions;
const layers = () =>
  [
    { name: 'fc1', W: W1, X: X128, R: 512, K: 128 },
    { name: 'fc2', W: W2, X: X512, R: 128, K: 512 },
  ] as const;

async function run<T>(be: Backend<T>, l: ReturnType<typeof layers>[number], o: ClaqOptions) {
  const res = await claq(be, l.W, hessianOf(l.X), l.R, l.K, o, 0);
  return { ...res, Qh: await be.toHost(res.Q) };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('claqBlock kernel = its twin on real layers (same seed → same codebooks and assignments)', () => {
  it.each([
    ['fc1', { wbits: 3, outlierorder: 3.12, outlierColDynamic: true }],
    ['fc2', { wbits: 2, outlierColDynamic: true }],
  ] as const)('%s %o', async (name, o) => {
    const l = layers().find((x) => x.name === name)!;
    const g = await run(gpuBackend(await sharedGpu()), l, opts(o));
    const c = await run(referenceBackend(), l, opts(o));
    // one block (fc1) is bit-exact; across blocks the twin of GPTQ's lazy update sums in f64, so ulps may differ
    expect(maxDiff(g.Qh, c.Qh)).toBeLessThan(1e-6);
    expect(maxDiff(g.detail.codebooks.flat(), c.detail.codebooks.flat())).toBeLessThan(1e-6);
    expect(g.detail.kept).toEqual(c.detail.kept);
    expect(g.bits).toBe(c.bits);
    if (name === 'fc1') expect(g.detail.lloydSteps).toEqual(c.detail.lloydSteps);
    // every weight is one of its column's centroids, except reserved values (which may also sit on one: a singleton
    // cluster's centroid is its value)
    let off = 0;
    for (let i = 0; i < g.Qh.length; i++) if (!g.detail.codebooks[i % g.detail.cols].includes(g.Qh[i])) off++;
    expect(off).toBeLessThanOrEqual(g.detail.kept.reduce((a, b) => a + b, 0));
  });
});

describe('CLAQ on real layers', () => {
  it.each([3, 2])('beats GPTQ at %i bits in the layer-output error tr(ΔHΔᵀ), on fc1 and fc2', async (wbits) => {
    const be = referenceBackend();
    for (const l of layers()) {
      const c = await run(be, l, opts({ wbits }));
      const g = await gptq(be, l.W, hessianOf(l.X), l.R, l.K, {
        wbits,
        groupsize: -1,
        sym: false,
        actOrder: true,
        staticGroups: false,
        trueSequential: true,
        percdamp: 0.01,
        blocksize: 128,
      });
      const H = hessianOf(l.X);
      const lc = hessianLoss(l.W, c.Qh, H, l.R, l.K);
      const lg = hessianLoss(l.W, g.Q.data, H, l.R, l.K);
      console.log(`${l.name} W${wbits}: CLAQ ${lc.toExponential(3)} vs GPTQ ${lg.toExponential(3)}`);
      expect(lc).toBeLessThan(0.8 * lg);
    }
  });

  it('bits per weight = a hand count (fc1, W2 with outlier reservation)', async () => {
    const c = await run(referenceBackend(), layers()[0], opts({ wbits: 2, outlierColDynamic: true }));
    // 512 rows: ratio 0.004 keeps values ≥ the one at descending rank round(2.048) = 2 (3 values) and ≤ the one at
    // rank round(509.952) = 510 (2 values); ratio 0.014 keeps ranks ≤ round(7.168) = 7 (8) and ≥ round(504.832) = 505
    // (7). The top round(12.8) = 13 of 128 columns take 0.014: 13·15 + 115·5 = 770 values (fc1 has no ties).
    const kept = 13 * 15 + 115 * 5;
    expect(c.detail.kept.reduce((a, b) => a + b, 0)).toBe(kept);
    const codes = 2 * 512 * 128;
    const codebooks = 128 * 4 * 16; // 2^2 f16 centroids per column
    const outliers = kept * (16 + 9); // an f16 value and a row index of ⌈log2 512⌉ = 9 bits
    expect(c.detail.parts).toEqual({ codes, codebooks, outliers });
    expect(c.bits).toBe((codes + codebooks + outliers) / (512 * 128));
    expect(c.codeBits).toBe(2);
  });

  it('adaptive precision 2.1: the round(128·0.05) = 6 columns with most outliers get 4 bits, codes average 2.09375', async () => {
    // the fixtures have no entry past 13·mean|W| (their weights are near Gaussian), so three columns get planted ones;
    // the other columns tie at zero and keep their act-order place (the most salient inputs first)
    const mean = W1.reduce((a, w) => a + Math.abs(w), 0) / W1.length;
    const Wp = W1.slice();
    const plantedCols = [5, 77, 100];
    for (const c of plantedCols) for (const r of [0, 50, 300]) Wp[r * 128 + c] = 20 * mean;
    const { W, perm } = actOrder(Wp, hessianOf(X128), 512, 128);
    const counts = outlierCounts(W, 512, 128);
    const planted = plantedCols.map((c) => perm.indexOf(c));
    expect(planted.map((p) => counts[p])).toEqual([3, 3, 3]);
    const bits = adaptiveBits(counts, 2.1);
    const four = [...bits.keys()].filter((c) => bits[c] === 4);
    expect(four.length).toBe(6);
    const rest = [0, 1, 2, 3, 4, 5, 6].filter((c) => !planted.includes(c)).slice(0, 3);
    expect(four).toEqual([...planted, ...rest].sort((a, b) => a - b));
    expect(adaptiveBits(counts, 3.12).filter((b) => b === 4).length).toBe(Math.round(128 * 0.12));
    const c = await run(referenceBackend(), layers()[0], opts({ wbits: 2, outlierorder: 2.1 }));
    expect(c.codeBits).toBe((6 * 4 + 122 * 2) / 128);
  });

  it('--claq_ref_outlier_index (the ratio read by the index inside the block) differs from the global index on fc2', async () => {
    const l = layers()[1];
    const a = await run(referenceBackend(), l, opts({ wbits: 2, outlierColDynamic: true }));
    const b = await run(referenceBackend(), l, opts({ wbits: 2, outlierColDynamic: true, refOutlierIndex: true }));
    expect(b.detail.kept).not.toEqual(a.detail.kept);
    expect(maxDiff(a.Qh, b.Qh)).toBeGreaterThan(0);
  });

  it('refuses bad options with the flag named', () => {
    expect(() => completeStep({ method: 'claq', wbits: 5 })).toThrow(/--wbits must be an integer from 1 to 4 .*claq/);
    expect(() => completeStep({ method: 'claq', outlierorder: 1.5 })).toThrow(
      /--outlierorder must be a number from 2 to 4/,
    );
    expect(() => validateRecipe(makeRecipe({ steps: [{ method: 'claq', refOutlierIndex: true }] }))).toThrow(
      /--claq_ref_outlier_index .* needs --outlier_col_dynamic/,
    );
  });
});

/** calibration tinystories n × len, seed 0; `windows` evaluation windows of `len` */
async function model(
  path: string,
  steps: ({ method: string } & Record<string, unknown>)[],
  p: { n: number; len: number; windows: number },
  baselines?: string[],
): Promise<EvalResult> {
  return runExperiment(
    {
      datasets: ['tinystories'],
      windows: p.windows,
      seqlen: p.len,
      skipBefore: true,
      baselines,
      recipe: makeRecipe({ calib: 'tinystories', nsamples: p.n, seqlen: p.len, seed: 0, steps }),
    },
    { source: folderSource(path), readText: folderReader(), gpu: await sharedGpu() },
  );
}

/** The relations at smaller protocols than its full one (32 × 512, 81 windows: the closing note's figures). */
describe('CLAQ on real models', () => {
  const L = { actOrder: true, trueSequential: true };
  const SMALL = { n: 4, len: 128, windows: 8 };
  const p = (r: { ppl: Record<string, number> }) => r.ppl.tinystories;

  it('stories260K: CLAQ beats GPTQ at 3 and 2 bits (GPTQ run as the baseline); outlier reservation beats CLAQ at 2 bits', async () => {
    // 4 windows: the margins are 8%, 85% and 29% on 8
    const P = { ...SMALL, windows: 4 };
    const c3 = await model(MODELS.stories260K, [{ method: 'claq', wbits: 3, ...L }], P, ['gptq']);
    const c2 = await model(MODELS.stories260K, [{ method: 'claq', wbits: 2, ...L }], P, ['gptq']);
    const or2 = await model(MODELS.stories260K, [{ method: 'claq', wbits: 2, outlierColDynamic: true, ...L }], P);
    const [g3, g2] = [c3.baselines![0], c2.baselines![0]];
    console.log(
      `stories260K 4 × 128: CLAQ W3 ${p(c3)} GPTQ W3 ${p(g3)}; CLAQ W2 ${p(c2)} GPTQ W2 ${p(g2)}; W2 + reservation ${p(or2)}`,
    );
    expect([g3.label, g2.label]).toEqual(['GPTQ W3', 'GPTQ W2']);
    expect(p(c3)).toBeLessThan(p(g3));
    expect(p(c2)).toBeLessThan(p(g2));
    expect(p(or2)).toBeLessThan(p(c2));
    // the run reports its exact bits: codes plus codebooks (and reserved values)
    expect(meanBits(c2.quant!.layers, (l) => l.codeBits)).toBe(2);
    expect(meanBits(or2.quant!.layers)).toBeGreaterThan(meanBits(c2.quant!.layers));
    expect(c2.quant!.layers.every((l) => l.groups === 0 && l.weights! > 0)).toBe(true);
  });

  // adaptive precision 2.1 against CLAQ W2 on stories260K (16 × 256, 12 windows: 55.4842 vs 60.9277) and CLAQ W3
  // against GPTQ W3 on opt-tiny (22.1491 vs 22.2654) are left to the full protocol: the first holds only at some
  // protocols on this model, the second by 0.5%; the layer-level tests above keep both relations per layer

  it('rptq+claq runs and reports both steps', async () => {
    const r = await model(
      MODELS.stories260K,
      [
        { method: 'rptq', abits: 8 },
        { method: 'claq', wbits: 4, ...L },
      ],
      SMALL,
    );
    expect(r.quant!.steps.map((s) => s.method)).toEqual(['rptq', 'claq']);
    expect(r.quant!.layers.every((l) => l.groups === 0 && l.codeBits === 4 && l.bits > 4)).toBe(true);
    expect(p(r)).toBeGreaterThan(1);
    expect(p(r)).toBeLessThan(20);
  });
});
