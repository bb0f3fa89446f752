// Packed weights (issue 25): a quantized layer kept as its codes, scales and zero points and read by matmulPacked.
//   1. the kernel matches its twin, and dequantize-then-matmul within float summation order, on real activations of
//      stories260K (K = 64 and the odd 172 of down_proj), 2/3/4/8 bits, grouped with an act-order-like g_idx,
//      f32 and f16 scales, for decoding (one row) and prefill (many);
//   2. a quantized run kept packed has the perplexity of the same run kept dense (bit for bit: a prefill reads a
//      transient dense copy in the store's format), on an F32 model and on an F16 one, in fewer bytes.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { gpuBackend, referenceBackend } from '../../src/gpu/backend.ts';
import { cpu, type CpuTensor } from '../../src/gpu/reference.ts';
import type { GpuTensor } from '../../src/gpu/tensor.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { packGrid } from '../../src/quant/grid.ts';
import type { LayerGrid } from '../../src/quant/method.ts';
import { SeededRandom } from '../../src/quant/random.ts';
import { roundToHalf } from '../../src/gpu/half.ts';
import { quantizeModel } from '../../src/pipeline/quantizeModel.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { sampleWindows } from '../../src/eval/calibration.ts';
import { perplexity } from '../../src/eval/perplexity.ts';
import { predictQuantizedLayers } from '../../src/pipeline/memory.ts';
import { MODELS, SHARED, loadFixture, relErr, sharedGpu } from '../helpers.ts';

/** An asymmetric min/max grid of `bits` on `groups` groups per row, each column's group from a shuffled g_idx. */
function grid(W: Float32Array, N: number, K: number, bits: number, groups: number, f16Scales: boolean) {
  const rng = new SeededRandom(bits * 7 + groups);
  const order = Array.from({ length: K }, (_, k) => k).sort(() => rng.next() - 0.5);
  const gIdx = new Uint32Array(K);
  order.forEach((k, i) => (gIdx[k] = Math.floor((i * groups) / K)));
  const maxq = 2 ** bits - 1;
  const params = new Float32Array(N * groups * 2);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < groups; g++) {
      let [lo, hi] = [0, 0];
      for (let k = 0; k < K; k++)
        if (gIdx[k] === g) [lo, hi] = [Math.min(lo, W[n * K + k]), Math.max(hi, W[n * K + k])];
      let s = Math.fround((hi - lo) / maxq || 1e-8);
      if (f16Scales) s = roundToHalf(Float32Array.of(s), 'f16')[0];
      params.set([s, Math.round(-lo / s)], (n * groups + g) * 2);
    }
  const Q = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const [s, z] = [params[(n * groups + gIdx[k]) * 2], params[(n * groups + gIdx[k]) * 2 + 1]];
      Q[n * K + k] = Math.fround(s * (Math.min(maxq, Math.max(0, Math.round(W[n * K + k] / s) + z)) - z));
    }
  return { Q, grid: { params, gIdx, maxq, sym: false } as LayerGrid };
}

describe('packed weights', () => {
  it('matmulPacked = its twin = dequantize-then-matmul, 2/3/4/8 bits, one row and many; packedDequant bit for bit', async () => {
    const gpu = gpuBackend(await sharedGpu());
    const ref = referenceBackend();
    const m = await loadFixture(MODELS.stories260K);
    const dec = new Decoder(gpu, m.config, new WeightStore(gpu, m.config, m.checkpoint));
    // real inputs: what q_proj (64 inputs) and down_proj (172) of block 1 read on a sentence
    const inputs: Record<string, Float32Array> = {};
    await dec.windowNll(m.tokenizer.encode('Tom and Lily went to the park. They saw a big dog.'), {
      taps: async (layer, point, x) => {
        if (layer === 1 && (point === 'q.in' || point === 'down.in')) inputs[point] = await gpu.toHost(x);
      },
    });
    const host = await dec.weights.hostBlock(1);
    for (const [role, point] of [
      ['q', 'q.in'],
      ['down', 'down.in'],
    ] as const) {
      const { W, shape } = host.linears[role]!;
      const [N, K] = shape;
      const all = inputs[point];
      const T = all.length / K;
      for (const [bits, groups, f16] of [
        [2, 1, false],
        [3, 4, true],
        [4, 2, false],
        [8, 3, true],
      ] as const) {
        const { Q, grid: g } = grid(W, N, K, bits, groups, f16);
        const h = packGrid(Q, g, N, K);
        if (typeof h === 'string') throw new Error(h);
        expect(h.scales16).toBe(f16);
        // the dense copy a prefill reads: the twin's bit for bit, in f32 and as f16 storage keeps it
        for (const format of [0, 1]) {
          const args = [h.bits, N, K, format] as const;
          const W = gpu.packedDequant(
            gpu.ids(h.codes),
            gpu.ids(h.zeros),
            gpu.fromHost(h.scales, [h.G, N]),
            gpu.ids(h.gIdx),
            ...args,
          );
          const twin = ref.packedDequant(h.codes, h.zeros, cpu(h.scales, [h.G, N]), h.gIdx, ...args);
          expect(Array.from(await gpu.toHost(W)), `${role} ${bits} bits, format ${format}`).toEqual(
            Array.from(twin.data),
          );
          if (format === 0) expect(Array.from(twin.data)).toEqual(Array.from(Q));
        }
        let full1: Float32Array | null = null;
        for (const rows of [1, T]) {
          const x = all.subarray(0, rows * K);
          const on = <B>(be: typeof gpu | typeof ref) =>
            (be as typeof gpu).matmulPacked(
              (be as typeof gpu).fromHost(x, [rows, K]),
              (be as typeof gpu).ids(h.codes),
              (be as typeof gpu).ids(h.zeros),
              (be as typeof gpu).fromHost(h.scales, [h.G, N]),
              (be as typeof gpu).ids(h.gIdx),
              null,
              bits,
              N,
              K,
            ) as unknown as B;
          const kernel = await gpu.toHost(on<GpuTensor>(gpu));
          const twin = (on<CpuTensor>(ref) as CpuTensor).data;
          const dense = await gpu.toHost(gpu.matmul(gpu.fromHost(x, [rows, K]), gpu.fromHost(Q, [N, K]), null));
          const where = `${role} ${bits} bits, ${groups} groups, ${rows} rows`;
          expect(relErr(kernel, twin), where).toBeLessThan(1e-6);
          expect(relErr(kernel, dense), where).toBeLessThan(1e-6);
          // a decoded row (the codes read directly) is the prefill's row bit for bit: the dense matmul's order
          if (rows === 1) full1 = kernel;
          else expect(Array.from(kernel.subarray(0, N)), where).toEqual(Array.from(full1!));
        }
      }
    }
    // the twin's dequantized weight is the dense one bit for bit (the product is exact): checked through a unit x
    const { Q, grid: g } = grid(host.linears.down!.W, 64, 172, 3, 4, true);
    const h = packGrid(Q, g, 64, 172) as Exclude<ReturnType<typeof packGrid>, string>;
    const eye = new Float32Array(172 * 172);
    for (let k = 0; k < 172; k++) eye[k * 172 + k] = 1;
    const back = ref.matmulPacked(
      cpu(eye, [172, 172]),
      h.codes,
      h.zeros,
      cpu(h.scales, [h.G, 64]),
      h.gIdx,
      null,
      3,
      64,
      172,
    );
    for (let n = 0; n < 64; n++) for (let k = 0; k < 172; k++) expect(back.data[k * 64 + n]).toBe(Q[n * 172 + k]);
  });

  it.each([
    ['stories260K (F32) RTN W4 per row', MODELS.stories260K, 'rtn', -1],
    ['opt-tiny (F16) RTN W4 g32', MODELS.optTiny, 'rtn', 32],
  ])('%s: packed = dense perplexity, in the bytes predicted', async (_, path, method, groupsize) => {
    const be = gpuBackend(await sharedGpu());
    const m = await loadFixture(path);
    const text = readFileSync(`${SHARED}/data/tinystories/validation-subset.txt`, 'utf8');
    const calib = sampleWindows(m.tokenizer.encode(text.slice(0, 40000)), 2, 128, 0);
    const evalIds = m.tokenizer.encode(text.slice(-20000));
    const recipe = makeRecipe({
      calib: 'tinystories',
      nsamples: 2,
      seqlen: 128,
      seed: 0,
      steps: [{ method, wbits: 4, groupsize }],
    });
    const ppl: number[] = [];
    const saved: number[] = [];
    for (const pack of [false, true]) {
      const weights = new WeightStore(be, m.config, m.checkpoint);
      const decoder = new Decoder(be, m.config, weights);
      const q = await quantizeModel(recipe, calib, { decoder, weights, pack });
      const block = await weights.block(0);
      expect(!!block.linears.q!.packed).toBe(pack);
      // the bytes the layers take now, as predicted before the run
      if (pack) expect(weights.layerBytes()).toBe(predictQuantizedLayers(m.config, recipe));
      ppl.push((await perplexity(decoder, evalIds, 128, { windows: 4 })).ppl);
      saved.push(q.packedSavedBytes ?? 0);
      weights.dispose();
    }
    console.log(`${path}: dense ${ppl[0]}, packed ${ppl[1]}; the packed layers save ${saved[1]} bytes`);
    // a prefill reads a transient dense copy in the store's own format: the same figure, bit for bit
    expect(ppl[1]).toBe(ppl[0]);
    expect(saved[1]).toBeGreaterThan(0);
  });
});
