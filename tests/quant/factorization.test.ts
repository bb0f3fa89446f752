// GPTQ's factorization on the GPU (issue 14): the blocked Cholesky and triangular inverse (cholesky.wgsl) against
// their twins and against the f64 host route on real Hessians, a Hessian that is not positive definite, and the
// route `auto` picks by measuring both.
import { beforeAll, describe, expect, it } from 'vitest';
import { gpuBackend, referenceBackend } from '../../src/gpu/backend.ts';
import { autoRoute, damp, dampedFactor, factorOnBackend } from '../../src/quant/factorization.ts';
import { upperCholeskyOfInverse } from '../../src/quant/linalg.ts';
import { LabError } from '../../src/errors.ts';
import { relErr, sharedGpu } from '../helpers.ts';
import { hessianOf, optTinyBlock1, type OptTinyLayers } from './optTinyLayers.ts';
import * as ref from '../../src/gpu/reference.ts';

let L: OptTinyLayers;
beforeAll(async () => {
  L = await optTinyBlock1();
});

/** a real damped Hessian of width n (the first n inputs of fc2's: 100 and 200 are not multiples of the 64-column block) */
function realHessian(n: number): Float64Array {
  const X = ref.cpu(
    Float32Array.from({ length: L.X512.shape[0] * n }, (_, i) => L.X512.data[Math.floor(i / n) * 512 + (i % n)]),
    [L.X512.shape[0], n],
  );
  const H = hessianOf(X);
  damp(H, n, 0.01);
  return H;
}

describe('factorization on the GPU', () => {
  it.each([100, 200, 512])('width %i: the kernels equal their twins and the f64 route', async (n) => {
    const H = realHessian(n);
    const be = gpuBackend(await sharedGpu());
    const Ut = await factorOnBackend(be, H, n);
    const gpuU = await be.toHost(Ut);
    be.release(Ut);
    const twin = (await factorOnBackend(referenceBackend(), H, n)).data;
    const f64 = upperCholeskyOfInverse(H, n);
    console.log(
      `width ${n}: |GPU − twin| ${relErr(gpuU, twin).toExponential(2)}, |GPU − f64| ${relErr(gpuU, f64).toExponential(2)}`,
    );
    expect(relErr(gpuU, twin)).toBeLessThan(1e-4);
    expect(relErr(gpuU, f64)).toBeLessThan(1e-3);
    // upper triangular
    for (let i = 1; i < n; i++) for (let j = 0; j < i; j++) expect(gpuU[i * n + j]).toBe(0);
  });

  it('a Hessian that is not positive definite names its column', async () => {
    const n = 70;
    const H = new Float64Array(n * n);
    for (let d = 0; d < n; d++) H[d * n + d] = 1;
    H[5 * n + 5] = -1;
    const be = gpuBackend(await sharedGpu());
    await expect(factorOnBackend(be, H, n)).rejects.toThrow(LabError);
    await expect(factorOnBackend(be, H, n)).rejects.toThrow(
      /not positive definite at column 5 \(f32 factorization on the GPU\); raise --percdamp or use --factorization cpu/,
    );
  });

  it('auto measures both routes once per adapter and says which it took', async () => {
    const n = 512;
    const be = gpuBackend(await sharedGpu());
    const first = await autoRoute(be);
    const again = await autoRoute(gpuBackend(await sharedGpu()));
    expect(first.note).toMatch(
      /^factorization on the (GPU \(f32\)|CPU \(f64\)), measured on this adapter at width 512: \d+\.\d ms on the GPU, \d+\.\d ms on the CPU$/,
    );
    expect([again.route, again.note, again.fresh]).toEqual([first.route, first.note, false]);
    // SwiftShader runs the kernels on the CPU: the host's f64 route wins by far
    if (be.software) expect(first.route).toBe('cpu');
    const res = await dampedFactor(be, hessianOf(L.X512), n, 0.01, 'auto');
    expect([res.route, res.note]).toEqual([first.route, first.note]);
    const gpu = await dampedFactor(be, hessianOf(L.X512), n, 0.01, 'gpu');
    expect(relErr(await be.toHost(gpu.U), await be.toHost(res.U))).toBeLessThan(1e-3);
    for (const f of [res, gpu]) be.release(f.U);
  });
});

describe('GPTQ with the GPU factorization', () => {
  it.each([['stories260K', 3]] as const)(
    '%s W%i: perplexity within half a percent of the f64 route',
    async (model, wbits) => {
      const { runExperiment } = await import('../../src/pipeline/experiment.ts');
      const { makeRecipe } = await import('../../src/quant/recipe.ts');
      const { folderSource } = await import('../../src/model/source.node.ts');
      const { folderReader } = await import('../../src/eval/datasets.node.ts');
      const { MODELS } = await import('../helpers.ts');
      const ppl = async (factorization: 'gpu' | 'cpu') =>
        (
          await runExperiment(
            {
              datasets: ['tinystories'],
              windows: 2,
              seqlen: 128,
              skipBefore: true,
              recipe: makeRecipe({
                calib: 'tinystories',
                nsamples: 2,
                seqlen: 128,
                seed: 0,
                steps: [{ method: 'gptq', wbits, factorization }],
              }),
            },
            {
              source: folderSource(MODELS[model]),
              readText: folderReader(),
              gpu: await sharedGpu(),
            },
          )
        ).ppl.tinystories;
      const [g, c] = [await ppl('gpu'), await ppl('cpu')];
      console.log(
        `${model} GPTQ W${wbits}: GPU factorization ${g.toFixed(4)}, f64 ${c.toFixed(4)} (${((g / c - 1) * 100).toFixed(3)}%)`,
      );
      expect(Math.abs(g / c - 1)).toBeLessThan(0.005);
    },
  );
});
