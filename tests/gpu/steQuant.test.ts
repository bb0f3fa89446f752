// The straight-through fake-quant kernels learnable weight clipping trains through (steQuant.wgsl): lwcQuant, lwcGrad
// and tokenQuantGrad. Their gradients are autograd's for the reference's code: rounding passes straight through, the
// zero point's plain round passes nothing, the clamps pass inside their bounds. So each twin is checked against
// central finite differences, in f64 on real stories260K block-0 data, of the function autograd differentiates: the
// same forward with each rounding offset round(v) − v, the zero point, the clamp's verdict and (activations) the
// positions of the row's min and max held at their values at the point — exactly what `.detach()` holds. Then every
// kernel against its twin on the same real data in f32.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/kernels.ts';
import * as ref from '../../src/gpu/reference.ts';
import type { CpuTensor } from '../../src/gpu/reference.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore, type BlockWeights } from '../../src/model/weights.ts';
import type { TapPoint } from '../../src/model/taps.ts';
import { MODELS, loadFixture, sharedGpu } from '../helpers.ts';

const copy = (t: CpuTensor) => ref.cpu(t.data.slice(), [...t.shape]);
const f64 = (t: CpuTensor): CpuTensor => ref.cpu(Float64Array.from(t.data) as unknown as Float32Array, [...t.shape]);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
const weighting = (n: number, seed: number) => {
  const r = rng(seed);
  return ref.cpu(Float64Array.from({ length: n }, r) as unknown as Float32Array, [n]);
};

let gpu: Gpu;
let taps: Map<TapPoint, CpuTensor>;
let w: BlockWeights<CpuTensor>;

beforeAll(async () => {
  gpu = await sharedGpu();
  const m = await loadFixture(MODELS.stories260K);
  const be = referenceBackend();
  const store = new WeightStore(be, m.config, m.checkpoint);
  const dec = new Decoder(be, m.config, store);
  const ids = m.tokenizer.encode('Once upon a time, there was a little girl named Lily. She loved to play outside.');
  const h = await dec.embed(ids);
  w = await store.block(0);
  taps = new Map();
  await dec.block(0, h, w, (_, point, x) => void taps.set(point, copy(x)));
});

/** One rounding step as autograd sees it at a point: offset, zero point and clamp verdict frozen. */
interface Frozen {
  offset: Float64Array;
  /** per value: −1 below the grid, 1 above it, 0 inside */
  side: Int8Array;
  zero: Float64Array;
}

/** The grid of each row of `G` values at scale s: the surrogate's frozen parts at the point. */
function freeze(
  x: Float64Array,
  G: number,
  scale: (row: number) => number,
  zero: (row: number) => number,
  maxq: number,
) {
  const f: Frozen = {
    offset: new Float64Array(x.length),
    side: new Int8Array(x.length),
    zero: new Float64Array(x.length / G),
  };
  for (let i = 0; i < x.length; i++) {
    const r = Math.floor(i / G);
    const v = x[i] / scale(r);
    f.zero[r] = zero(r);
    f.offset[i] = ref.roundEven(v) - v;
    const level = ref.roundEven(v) + f.zero[r];
    f.side[i] = level < 0 ? -1 : level > maxq ? 1 : 0;
  }
  return f;
}

/** scale·(level − zero) with the frozen parts: smooth in the scale and (inside the grid) in x */
function surrogate(x: number, i: number, s: number, z: number, f: Frozen, maxq: number): number {
  const level = f.side[i] < 0 ? 0 : f.side[i] > 0 ? maxq : x / s + f.offset[i] + z;
  return s * (level - z);
}

function relError(fd: number[], analytic: number[]) {
  let num = 0;
  let den = 0;
  fd.forEach((v, i) => ((num += (v - analytic[i]) ** 2), (den += analytic[i] ** 2)));
  expect(den).toBeGreaterThan(0);
  return Math.sqrt(num / den);
}

describe('straight-through twins against central finite differences (f64, real block-0 data)', () => {
  it('lwcGrad: the clip bounds of q_proj and down_proj (K = 172), per row and in groups of 32 and 43', () => {
    for (const [role, g] of [
      ['q', 64],
      ['q', 32],
      ['down', 172],
      ['down', 43],
    ] as const) {
      const W = f64(w.linears[role]!.W!);
      const [R, K] = W.shape;
      const n = (R * K) / g;
      const r = rng(7);
      // bounds around the start (4.0) and well inside the sigmoid's slope
      const bounds = ref.cpu(Float64Array.from({ length: n * 2 }, () => 2.5 + 1.5 * r()) as unknown as Float32Array, [
        n,
        2,
      ]);
      const maxq = 15;
      const wt = weighting(R * K, 11);
      const dB = ref.lwcGrad(W, bounds, wt, g, maxq);
      const range = (rg: number) => {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = rg * g; i < (rg + 1) * g; i++) ((lo = Math.min(lo, W.data[i])), (hi = Math.max(hi, W.data[i])));
        return [lo, hi];
      };
      const grid = (rg: number, up: number, low: number) => {
        const [lo, hi] = range(rg);
        const s = (sigmoid(up) * hi - sigmoid(low) * lo) / maxq;
        return { s, z: ref.roundEven(-(sigmoid(low) * lo) / s) };
      };
      const frozen = freeze(
        W.data as unknown as Float64Array,
        g,
        (rg) => grid(rg, bounds.data[2 * rg], bounds.data[2 * rg + 1]).s,
        (rg) => grid(rg, bounds.data[2 * rg], bounds.data[2 * rg + 1]).z,
        maxq,
      );
      const loss = (rg: number, up: number, low: number) => {
        const { s } = grid(rg, up, low);
        let l = 0;
        for (let i = rg * g; i < (rg + 1) * g; i++)
          l += wt.data[i] * surrogate(W.data[i], i, s, frozen.zero[rg], frozen, maxq);
        return l;
      };
      const fd: number[] = [];
      const an: number[] = [];
      const eps = 1e-5;
      for (let rg = 0; rg < n; rg += Math.max(1, Math.floor(n / 24))) {
        const [u, l] = [bounds.data[2 * rg], bounds.data[2 * rg + 1]];
        fd.push((loss(rg, u + eps, l) - loss(rg, u - eps, l)) / (2 * eps));
        fd.push((loss(rg, u, l + eps) - loss(rg, u, l - eps)) / (2 * eps));
        an.push(dB.data[2 * rg], dB.data[2 * rg + 1]);
      }
      console.log(
        `lwcGrad ${role} g${g}: relative error against finite differences ${relError(fd, an).toExponential(2)}`,
      );
      expect(relError(fd, an), `${role} g${g}`).toBeLessThan(1e-4);
    }
  });

  it('tokenQuantGrad: the attention norm output per token (G = 64) and q per (token, head) (G = 8), lac 0.9', () => {
    for (const [point, G, maxq] of [
      ['attn_norm', 64, 15],
      ['q_rope', 8, 15],
      ['attn_norm', 64, 255],
    ] as const) {
      const x = f64(taps.get(point)!);
      const lac = 0.9;
      const rows = x.data.length / G;
      const wt = weighting(x.data.length, 13);
      const dx = ref.tokenQuantGrad(x, wt, G, maxq, lac);
      // the point's argmin/argmax per row, and its grid
      const arg = Array.from({ length: rows }, (_, r) => {
        let lo = 0;
        let hi = 0;
        for (let c = 1; c < G; c++) {
          if (x.data[r * G + c] < x.data[r * G + lo]) lo = c;
          if (x.data[r * G + c] > x.data[r * G + hi]) hi = c;
        }
        return [r * G + lo, r * G + hi];
      });
      const scaleOf = (r: number, xs: Float64Array) => (lac * (xs[arg[r][1]] - xs[arg[r][0]])) / maxq;
      const xs = x.data as unknown as Float64Array;
      const frozen = freeze(
        xs,
        G,
        (r) => scaleOf(r, xs),
        (r) => ref.roundEven(-(lac * xs[arg[r][0]]) / scaleOf(r, xs)),
        maxq,
      );
      const rowLoss = (r: number) => {
        const s = scaleOf(r, xs);
        let l = 0;
        for (let i = r * G; i < (r + 1) * G; i++)
          l += wt.data[i] * surrogate(xs[i], i, s, frozen.zero[r], frozen, maxq);
        return l;
      };
      const fd: number[] = [];
      const an: number[] = [];
      // every row's min and max (where the scale's gradient lands) and one other value
      for (let r = 0; r < rows; r += Math.max(1, Math.floor(rows / 12)))
        for (const i of [arg[r][0], arg[r][1], r * G + ((r * 5) % G)]) {
          const x0 = xs[i];
          const eps = 1e-7 * Math.max(1, Math.abs(x0));
          xs[i] = x0 + eps;
          const plus = rowLoss(r);
          xs[i] = x0 - eps;
          const minus = rowLoss(r);
          xs[i] = x0;
          fd.push((plus - minus) / (2 * eps));
          an.push(dx.data[i]);
        }
      console.log(
        `tokenQuantGrad ${point} G${G} maxq ${maxq}: against finite differences ${relError(fd, an).toExponential(2)}`,
      );
      expect(relError(fd, an), `${point} G${G} maxq ${maxq}`).toBeLessThan(1e-4);
    }
  });
});

describe('straight-through kernels against their twins (f32, real block-0 data)', () => {
  const onGpu = (t: CpuTensor) => gpu.upload(t.data, t.shape, 'test');
  const read = async (t: ReturnType<typeof onGpu>) => {
    const out = await gpu.read(t);
    gpu.release(t);
    return out;
  };
  /** the fraction of values that differ by more than a relative 1e-5 (a rounding boundary may fall either way) */
  const mismatch = (a: Float32Array, b: Float32Array, scale: number) =>
    a.filter((v, i) => Math.abs(v - b[i]) > 1e-5 * scale).length / a.length;

  it('lwcQuant and lwcGrad on gate_proj and down_proj with bounds around the start', async () => {
    for (const [role, g] of [
      ['gate', 64],
      ['down', 43],
    ] as const) {
      const W = w.linears[role]!.W!;
      const [R, K] = W.shape;
      const n = (R * K) / g;
      const r = rng(3);
      const bounds = ref.cpu(
        Float32Array.from({ length: n * 2 }, () => 4 + r()),
        [n, 2],
      );
      const Q = ref.lwcQuant(W, bounds, g, 15);
      const Qg = await read(ops.lwcQuant(gpu, onGpu(W), onGpu(bounds), g, 15));
      const top = Math.max(...W.data.map(Math.abs));
      expect(mismatch(Qg, Q.data, top), `lwcQuant ${role}`).toBeLessThan(0.002);
      const dQ = ref.cpu(Float32Array.from({ length: R * K }, r), [R, K]);
      const dB = ref.lwcGrad(W, bounds, dQ, g, 15);
      const dBg = await read(ops.lwcGrad(gpu, onGpu(W), onGpu(bounds), onGpu(dQ), g, 15));
      const scale = Math.max(...dB.data.map(Math.abs));
      expect(mismatch(dBg, dB.data, scale * 20), `lwcGrad ${role}`).toBeLessThan(0.02);
    }
  });

  it('tokenQuantGrad per token and per (token, head)', async () => {
    for (const [point, G] of [
      ['attn_norm', 64],
      ['k_rope', 8],
      ['down.in', 172],
    ] as const) {
      const x = taps.get(point)!;
      const r = rng(5);
      const dy = ref.cpu(Float32Array.from({ length: x.data.length }, r), [...x.shape]);
      const dx = ref.tokenQuantGrad(x, dy, G, 15, 0.9);
      const dxg = await read(ops.tokenQuantGrad(gpu, onGpu(x), onGpu(dy), G, 15, 0.9));
      expect(mismatch(dxg, dx.data, 1), `tokenQuantGrad ${point}`).toBeLessThan(0.002);
    }
  });
});
