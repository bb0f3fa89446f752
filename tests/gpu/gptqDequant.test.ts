// GPTQ-v1 checkpoint layers dequantized on the GPU (gptqDequant.wgsl) and by its twin (reference.ts), through the
// Backend interface, against the format's host decoder (dequantizeGptq) bit for bit: opt-tiny's real fc1 [512, 128],
// quantized on the host by per-group asymmetric RTN (group 32) with a shuffled g_idx (act order), at 2, 3, 4 and 8 bits.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gpuBackend, referenceBackend, type Backend } from '../../src/gpu/backend.ts';
import { f16ToF32, f32ToF16, fromHalfBits, toHalfBits } from '../../src/gpu/half.ts';
import { dequantizeGptq, packQweight, packQzeros } from '../../src/model/gptqPacking.ts';
import { SeededRandom } from '../../src/quant/random.ts';
import { MODELS, loadFixture, sharedGpu } from '../helpers.ts';

const NAME = 'model.decoder.layers.0.fc1.weight';
const GROUP = 32;
/** rows whose zero point of group 0 is forced to 0: v1 stores −1, which loads back as 2^bits (not masked) */
const ZERO_ROWS = [0, 1];

let gpu: Gpu;
let W: Float32Array;
let N: number;
let K: number;

beforeAll(async () => {
  gpu = await sharedGpu();
  const m = await loadFixture(MODELS.optTiny);
  [N, K] = m.checkpoint.info(NAME)!.shape;
  W = await m.checkpoint.readF32(NAME);
});

interface Layer {
  qweight: Uint32Array;
  qzeros: Uint32Array;
  scales16: Uint16Array;
  gIdx: Uint32Array;
  G: number;
  /** the f32 value of each scale */
  scales: Float32Array;
}

/** per-group asymmetric RTN of W [N, K] with an act-order g_idx, packed as GPTQ v1 */
function quantizeLayer(bits: number, seed: number): Layer {
  const maxq = 2 ** bits - 1;
  const G = K / GROUP;
  const rng = new SeededRandom(seed);
  const perm = Array.from({ length: K }, (_, k) => k);
  for (let i = K - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [perm[i], perm[j]] = [perm[j], perm[i]];
  }
  const gIdx = new Uint32Array(K);
  perm.forEach((k, j) => (gIdx[k] = Math.floor(j / GROUP)));
  const scales16 = new Uint16Array(G * N);
  const zeros = new Uint32Array(G * N);
  const codes = new Uint8Array(N * K);
  for (let g = 0; g < G; g++) {
    const members = perm.slice(g * GROUP, (g + 1) * GROUP);
    for (let n = 0; n < N; n++) {
      let lo = 0;
      let hi = 0;
      for (const k of members) {
        lo = Math.min(lo, W[n * K + k]);
        hi = Math.max(hi, W[n * K + k]);
      }
      const h = f32ToF16((hi - lo) / maxq || 1);
      const s = f16ToF32(h);
      const zero = g === 0 && ZERO_ROWS.includes(n) ? 0 : Math.min(maxq, Math.max(0, Math.round(-lo / s)));
      scales16[g * N + n] = h;
      zeros[g * N + n] = zero;
      for (const k of members) codes[n * K + k] = Math.min(maxq, Math.max(0, Math.round(W[n * K + k] / s) + zero));
    }
  }
  return {
    qweight: packQweight(codes, N, K, bits),
    qzeros: packQzeros(zeros, G, N, bits),
    scales16,
    gIdx,
    G,
    scales: fromHalfBits(scales16, 'f16'),
  };
}

function dequantOn<T>(
  be: Backend<T>,
  l: Layer,
  bits: number,
  scales: T = be.fromHost16(l.scales16, 'f16', [l.G, N]),
): Promise<Float32Array> {
  const out = be.checkpoint.gptqDequant(be.ids(l.qweight), be.ids(l.qzeros), scales, be.ids(l.gIdx), bits, N, K, l.G);
  return be.toHost(out);
}

/** '' when a and b are the same bits, else how many values differ and the first */
function bitDiff(a: Float32Array, b: Float32Array): string {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  let count = 0;
  let first = -1;
  for (let i = 0; i < ua.length; i++)
    if (ua[i] !== ub[i]) {
      count++;
      if (first < 0) first = i;
    }
  return count === 0
    ? ''
    : `${count} values differ; first W[${Math.floor(first / K)}, ${first % K}] = ${a[first]} vs ${b[first]}`;
}

describe('gptqDequant', () => {
  it.each([2, 3, 4, 8])(
    '%i-bit fc1 with an act-order g_idx: the GPU and the twin give dequantizeGptq bit for bit',
    async (bits) => {
      const l = quantizeLayer(bits, bits);
      const want = dequantizeGptq({ qweight: l.qweight, qzeros: l.qzeros, scales: l.scales, gIdx: l.gIdx }, N, K, bits);

      // the test's quantizer is sane: every weight within a step of its level, apart from the forced zero points
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          const s = l.scales[l.gIdx[k] * N + n];
          const forced = l.gIdx[k] === 0 && ZERO_ROWS.includes(n);
          if (!forced && Math.abs(want[n * K + k] - W[n * K + k]) > 1.01 * s)
            throw new Error(`W[${n}, ${k}]: ${W[n * K + k]} → ${want[n * K + k]} (scale ${s})`);
        }
      // a forced zero point loads as 2^bits: every code q < 2^bits dequantizes to s · (q − 2^bits) < 0
      for (const n of ZERO_ROWS)
        for (let k = 0; k < K; k++) if (l.gIdx[k] === 0) expect(want[n * K + k]).toBeLessThan(0);

      expect(bitDiff(await dequantOn(gpuBackend(gpu), l, bits), want), 'webgpu').toBe('');
      expect(bitDiff(await dequantOn(referenceBackend(), l, bits), want), 'reference').toBe('');
    },
  );

  it('folds a large dispatch into two dimensions (a 20-workgroup limit per dimension)', async () => {
    const bits = 3;
    const l = quantizeLayer(bits, 11);
    const want = dequantizeGptq({ qweight: l.qweight, qzeros: l.qzeros, scales: l.scales, gIdx: l.gIdx }, N, K, bits);
    const limits = gpu.limits;
    const saved = limits.maxComputeWorkgroupsPerDimension;
    limits.maxComputeWorkgroupsPerDimension = 20; // N·K / 256 = 256 workgroups → 20 × 13, the last 4 idle
    try {
      expect(bitDiff(await dequantOn(gpuBackend(gpu), l, bits), want)).toBe('');
    } finally {
      limits.maxComputeWorkgroupsPerDimension = saved;
    }
  });

  it('reads scales stored as f32 or bf16 too', async () => {
    const bits = 4;
    const l = quantizeLayer(bits, 5);
    const be = gpuBackend(gpu);
    const f32 = dequantizeGptq({ qweight: l.qweight, qzeros: l.qzeros, scales: l.scales, gIdx: l.gIdx }, N, K, bits);
    expect(bitDiff(await dequantOn(be, l, bits, be.fromHost(l.scales, [l.G, N])), f32), 'f32').toBe('');
    const bf = toHalfBits(l.scales, 'bf16');
    const bfScales = fromHalfBits(bf, 'bf16');
    const want = dequantizeGptq({ qweight: l.qweight, qzeros: l.qzeros, scales: bfScales, gIdx: l.gIdx }, N, K, bits);
    expect(bitDiff(await dequantOn(be, l, bits, be.fromHost16(bf, 'bf16', [l.G, N])), want), 'bf16').toBe('');
    const rb = referenceBackend();
    expect(bitDiff(await dequantOn(rb, l, bits, rb.fromHost16(bf, 'bf16', [l.G, N])), want), 'bf16 twin').toBe('');
  });

  it('rejects shapes that do not fit the layer, on both backends', () => {
    const l = quantizeLayer(4, 1);
    const check = <T>(be: Backend<T>) => {
      const [qweight, qzeros, scales, gIdx] = [
        be.ids(l.qweight),
        be.ids(l.qzeros),
        be.fromHost16(l.scales16, 'f16', [l.G, N]),
        be.ids(l.gIdx),
      ];
      const { gptqDequant } = be.checkpoint;
      expect(() => gptqDequant(qweight, qzeros, scales, gIdx, 5, N, K, l.G), be.name).toThrow(/bits = 5/);
      expect(() => gptqDequant(qweight, qzeros, scales, gIdx, 3, N, K, l.G), be.name).toThrow(/qweight has/);
      const shortIdx = be.ids(l.gIdx.subarray(1));
      expect(() => gptqDequant(qweight, qzeros, scales, shortIdx, 4, N, K, l.G), be.name).toThrow(/gIdx has/);
      expect(() => gptqDequant(qweight, qzeros, scales, gIdx, 4, N, K, l.G + 1), be.name).toThrow(/qzeros has/);
    };
    check(gpuBackend(gpu));
    check(referenceBackend());
  });
});
