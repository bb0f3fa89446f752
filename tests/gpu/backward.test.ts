// The backward kernels (the kernel table's `train` group: learnable weight clipping, trained block by block).
// First each twin (backward.reference.ts) against central finite differences of its forward twin, in f64 on real data:
// block 0 of stories260K (its activations captured by the reference forward, its weights, norm gains and rope tables)
// and of opt-tiny (LayerNorm, the fc1 pre-activation for relu and gelu). For an op y = f(x), a fixed pseudo-random
// weighting w of the output gives L = Σ w ⊙ f(x); the twin's gradient with dy = w must match
// (L(x + εe) − L(x − εe)) / 2ε on 32 coordinates spread over x, ‖fd − analytic‖ / ‖analytic‖ ≤ 1e-4.
// Then every kernel against its twin on the same real f32 activations: 45 tokens (not a multiple of 64), GQA (8 query
// heads on 4 KV heads), widths 64, 128, 172 and 512.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/kernels.ts';
import * as ref from '../../src/gpu/reference.ts';
import type { CpuTensor } from '../../src/gpu/reference.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import type { GpuTensor } from '../../src/gpu/tensor.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore, type BlockWeights } from '../../src/model/weights.ts';
import type { LoadedModel } from '../../src/model/load.ts';
import type { TapPoint } from '../../src/model/taps.ts';
import { MODELS, TOL, loadFixture, sharedGpu } from '../helpers.ts';

/** block 0 of a model on a real prompt: its input h0, every tap, its weights, the config's eps, the rope tables */
interface Block0 {
  h0: CpuTensor;
  taps: Map<TapPoint, CpuTensor>;
  w: BlockWeights<CpuTensor>;
  eps: number;
  rope: { cos: CpuTensor; sin: CpuTensor } | null;
}

const copy = (t: CpuTensor) => ref.cpu(t.data.slice(), [...t.shape]);
const TEXT =
  'Once upon a time, there was a little girl named Lily. She loved to play outside in the sun. ' +
  'One day, she saw a big red ball in the park and ran to get it.';

async function block0(m: LoadedModel): Promise<Block0> {
  const be = referenceBackend();
  const store = new WeightStore(be, m.config, m.checkpoint);
  const dec = new Decoder(be, m.config, store);
  const ids = m.tokenizer.encode(TEXT).slice(0, 45);
  expect(ids.length).toBe(45);
  const h = await dec.embed(ids);
  const h0 = copy(h);
  const w = await store.block(0);
  const taps = new Map<TapPoint, CpuTensor>();
  await dec.block(0, h, w, (layer, point, x) => {
    if (layer === 0) taps.set(point, copy(x));
  });
  return { h0, taps, w, eps: m.config.normEps, rope: (await store.global()).rope };
}

let gpu: Gpu;
let S: Block0; // stories260K: RMSNorm, RoPE, 8 heads on 4 KV heads (D = 8), SiLU-gated MLP (172)
let O: Block0; // opt-tiny: LayerNorm, 4 heads (D = 32), relu MLP (512)
const tap = (b: Block0, point: TapPoint) => b.taps.get(point)!;
/** the residual stream entering the FFN norm: h0 + the attention block's output */
const h1 = (b: Block0) => {
  const h = copy(b.h0);
  ref.add(tap(b, 'o.out'), h);
  return h;
};

beforeAll(async () => {
  gpu = await sharedGpu();
  [S, O] = await Promise.all([
    block0(await loadFixture(MODELS.stories260K)),
    block0(await loadFixture(MODELS.optTiny)),
  ]);
});

// ---- f64 finite differences -----------------------------------------------------------------------------------------

/** an LCG stream in [−1, 1) */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}
/** x with f64 data: the twins then compute and store in f64 (their outputs are allocated like their inputs) */
const f64 = (t: CpuTensor): CpuTensor => ref.cpu(Float64Array.from(t.data) as unknown as Float32Array, [...t.shape]);
/** a fixed pseudo-random weighting of an output of this shape, f64 */
const weighting = (shape: number[], seed: number): CpuTensor => {
  const r = rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return ref.cpu(Float64Array.from({ length: n }, r) as unknown as Float32Array, [...shape]);
};
const dot = (w: CpuTensor, y: CpuTensor) => {
  if (!(y.data instanceof Float64Array)) throw new Error('a forward twin stored its output in f32');
  let s = 0;
  for (let i = 0; i < w.data.length; i++) s += w.data[i] * y.data[i];
  return s;
};
/** `count` coordinates spread over n: one pseudo-random pick in each of `count` equal stretches */
function spread(n: number, seed: number, count = 32): number[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, k) => Math.floor(((k + (r() + 1) / 2) * n) / count));
}

/**
 * ‖fd − analytic‖ / ‖analytic‖ over 32 coordinates of x (f64, perturbed in place and restored): fd the central
 * difference of L with ε = 1e-6 · max |x|; `avoid` skips coordinates where L has a kink within reach.
 */
function fdError(
  x: CpuTensor,
  grad: CpuTensor,
  L: () => number,
  seed: number,
  avoid?: (v: number, eps: number) => boolean,
) {
  const eps = 1e-6 * Math.max(...x.data.map(Math.abs));
  let num = 0;
  let den = 0;
  let used = 0;
  for (const i of spread(x.data.length, seed)) {
    const x0 = x.data[i];
    if (avoid?.(x0, eps)) continue;
    x.data[i] = x0 + eps;
    const lPlus = L();
    x.data[i] = x0 - eps;
    const lMinus = L();
    x.data[i] = x0;
    const fd = (lPlus - lMinus) / (2 * eps);
    num += (fd - grad.data[i]) ** 2;
    den += grad.data[i] ** 2;
    used++;
  }
  expect(used).toBeGreaterThanOrEqual(24);
  expect(den).toBeGreaterThan(0);
  return Math.sqrt(num / den);
}

const FD_TOL = 1e-4;
function expectFd(name: string, err: number) {
  expect(err, name).toBeLessThan(FD_TOL);
}

describe('backward twins against central finite differences (f64, real block-0 data)', () => {
  it('matmulGradX and matmulGradW: gate_proj (172 out) and down_proj (K = 172) on their real inputs', () => {
    for (const [wName, xTap] of [
      ['gate', 'ffn_norm'],
      ['down', 'down.in'],
    ] as const) {
      const x = f64(tap(S, xTap));
      const W = S.w.linears[wName]!.W!;
      const w = weighting([x.shape[0], W.shape[0]], 11);
      expectFd(
        `matmulGradX ${wName}`,
        fdError(x, ref.matmulGradX(w, W), () => dot(w, ref.matmul(x, W, null)), 1),
      );
      const W64 = f64(W);
      const xf = f64(tap(S, xTap));
      expectFd(
        `matmulGradW ${wName}`,
        fdError(W64, ref.matmulGradW(w, xf), () => dot(w, ref.matmul(xf, W64, null)), 2),
      );
    }
  });

  it('rmsNormGrad: input_layernorm on the block input, post_attention_layernorm on the mid-block residual', () => {
    for (const [name, x0, g] of [
      ['attn', S.h0, S.w.attnNorm.g],
      ['ffn', h1(S), S.w.ffnNorm.g],
    ] as const) {
      const x = f64(x0);
      const w = weighting(x.shape, 12);
      const grad = ref.rmsNormGrad(x, g, w, S.eps);
      expectFd(
        `rmsNormGrad ${name}`,
        fdError(x, grad, () => dot(w, ref.rmsNorm(x, g, S.eps)), 3),
      );
    }
  });

  it('layerNormGrad: opt-tiny self_attn_layer_norm (gain and bias) on the block input (token + position)', () => {
    const x = f64(O.h0);
    const { g, b } = O.w.attnNorm;
    const w = weighting(x.shape, 13);
    const grad = ref.layerNormGrad(x, g, w, O.eps);
    expectFd(
      'layerNormGrad',
      fdError(x, grad, () => dot(w, ref.layerNorm(x, g, b!, O.eps)), 4),
    );
  });

  it('ropeGrad: real q (8 heads) and k (4 heads) with the model’s rope tables', () => {
    const { cos, sin } = S.rope!;
    for (const [name, H] of [
      ['q.out', 8],
      ['k.out', 4],
    ] as const) {
      const x = f64(tap(S, name));
      const w = weighting(x.shape, 14);
      const grad = copy(w);
      ref.ropeGrad(cos, sin, grad, H, 8);
      const L = () => {
        const y = copy(x);
        ref.rope(cos, sin, y, H, 8);
        return dot(w, y);
      };
      expectFd(`ropeGrad ${name}`, fdError(x, grad, L, 5));
    }
  });

  it('attentionGrad: dq, dk, dv of causal GQA attention (8 heads on 4 KV heads) on real roped q, k and v', () => {
    const [q, k, v] = (['q_rope', 'k_rope', 'v.out'] as const).map((n) => f64(tap(S, n)));
    const scale = 1 / Math.sqrt(8);
    const w = weighting(q.shape, 15);
    const { dq, dk, dv } = ref.attentionGrad(q, k, v, w, 8, 4, 8, scale);
    const L = () => dot(w, ref.attention(q, k, v, 8, 4, 8, scale));
    expectFd('attentionGrad dq', fdError(q, dq, L, 6));
    expectFd('attentionGrad dk', fdError(k, dk, L, 7));
    expectFd('attentionGrad dv', fdError(v, dv, L, 8));
  });

  it('reluGrad and geluGrad on opt-tiny’s real fc1 pre-activation', () => {
    const x = f64(tap(O, 'up.out'));
    const w = weighting(x.shape, 16);
    const y = copy(x);
    ref.relu(y);
    const dRelu = copy(w);
    ref.reluGrad(y, dRelu);
    const reluL = () => {
      const r = copy(x);
      ref.relu(r);
      return dot(w, r);
    };
    // relu's kink: a coordinate within reach of 0 has no derivative
    expectFd(
      'reluGrad',
      fdError(x, dRelu, reluL, 9, (v, eps) => Math.abs(v) < 4 * eps),
    );
    const dGelu = copy(w);
    ref.geluGrad(x, dGelu);
    const geluL = () => {
      const r = copy(x);
      ref.gelu(r);
      return dot(w, r);
    };
    expectFd('geluGrad', fdError(x, dGelu, geluL, 10));
  });

  it('siluMulGrad on the real gate and up projections', () => {
    const gate = f64(tap(S, 'gate.out'));
    const up = f64(tap(S, 'up.out'));
    const w = weighting(gate.shape, 17);
    const { dGate, dUp } = ref.siluMulGrad(gate, up, w);
    const L = () => dot(w, ref.siluMul(gate, up));
    expectFd('siluMulGrad gate', fdError(gate, dGate, L, 11));
    expectFd('siluMulGrad up', fdError(up, dUp, L, 12));
  });

  it('blockRotateGrad: per-block matrices with a permutation (width 64), one shared matrix (width 172)', () => {
    const r = rng(5);
    for (const [name, n, perBlock, permuted] of [
      ['ffn_norm', 16, true, true],
      ['down.in', 86, false, false],
      ['down.in', 43, true, true],
    ] as const) {
      const x = f64(tap(S, name));
      const C = x.shape[1];
      const R = ref.cpu(Float32Array.from({ length: (perBlock ? C / n : 1) * n * n }, r), [perBlock ? C / n : 1, n, n]);
      const perm = permuted ? Uint32Array.from({ length: C }, (_, i) => (i * 37 + 11) % C) : null;
      const w = weighting(x.shape, 18);
      const grad = ref.blockRotateGrad(w, R, n, perm);
      expectFd(
        `blockRotateGrad ${name} n=${n}`,
        fdError(x, grad, () => dot(w, ref.blockRotate(x, R, n, perm)), 13),
      );
    }
  });

  it('mseGrad: the loss is the mean square, its gradient the loss’s finite differences', () => {
    const pred = f64(tap(S, 'gate.out'));
    const target = f64(tap(S, 'up.out'));
    const { loss, grad } = ref.mseGrad(pred, target);
    let s = 0;
    for (let i = 0; i < pred.data.length; i++) s += (pred.data[i] - target.data[i]) ** 2;
    expect(loss.data[0]).toBeCloseTo(s / pred.data.length, 12);
    expect(loss.data).toBeInstanceOf(Float64Array);
    expectFd(
      'mseGrad',
      fdError(pred, grad, () => ref.mseGrad(pred, target).loss.data[0], 14),
    );
  });

  it('adamW: steps 1 and 7 against torch.optim.AdamW’s formula by hand (and Adam’s first step is lr·sign(g))', () => {
    const lr = 1e-2;
    const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.01];
    const p0 = f64(tap(S, 'q.out'));
    const g = f64(tap(S, 'k.out'));
    const gq = ref.cpu(Float64Array.from(p0.data, (_, i) => g.data[i % g.data.length]) as unknown as Float32Array, [
      ...p0.shape,
    ]);
    const r = rng(19);
    const mPrev = Float64Array.from(p0.data, () => 0.1 * r());
    const vPrev = Float64Array.from(p0.data, () => 0.01 * Math.abs(r()));
    for (const [step, m0, v0] of [
      [1, new Float64Array(p0.data.length), new Float64Array(p0.data.length)],
      [7, mPrev, vPrev],
    ] as const) {
      const p = copy(p0);
      const m = ref.cpu(m0.slice() as unknown as Float32Array, [...p0.shape]);
      const v = ref.cpu(v0.slice() as unknown as Float32Array, [...p0.shape]);
      ref.adamW(p, gq, m, v, step, lr, b1, b2, eps, wd);
      let worst = 0;
      for (let i = 0; i < p.data.length; i++) {
        const gi = gq.data[i];
        const mi = b1 * m0[i] + (1 - b1) * gi;
        const vi = b2 * v0[i] + (1 - b2) * gi * gi;
        const mHat = mi / (1 - b1 ** step);
        const vHat = vi / (1 - b2 ** step);
        const want = p0.data[i] * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
        worst = Math.max(worst, Math.abs(p.data[i] - want) / lr, Math.abs(m.data[i] - mi), Math.abs(v.data[i] - vi));
        if (step === 1 && Math.abs(gi) > 1e-3)
          expect(p0.data[i] * (1 - lr * wd) - p.data[i]).toBeCloseTo(lr * Math.sign(gi), 6);
      }
      expect(worst, `step ${step}`).toBeLessThan(1e-12);
    }
    expect(() => ref.adamW(copy(p0), gq, copy(p0), copy(p0), 0, lr, b1, b2, eps, wd)).toThrow(/step/);
  });

  it('with f32 data the forward twins still store f32 (the f64 path is only taken with f64 data)', () => {
    const x = tap(S, 'ffn_norm');
    expect(ref.matmul(x, S.w.linears.gate!.W!, null).data).toBeInstanceOf(Float32Array);
    expect(ref.rmsNorm(x, S.w.ffnNorm.g, S.eps).data).toBeInstanceOf(Float32Array);
    expect(ref.matmulGradX(x, S.w.linears.q!.W!).data).toBeInstanceOf(Float32Array);
    expect(ref.matmul(f64(x), S.w.linears.gate!.W!, null).data).toBeInstanceOf(Float64Array);
  });
});

// ---- kernels against their twins (f32, real activations) -----------------------------------------------------------

/** max |a − b| / max |b|: relative to the output's own scale (stricter than relErr's floor at 1 for small gradients) */
function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s > 0 ? d / s : d;
}
function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol = TOL.f32) {
  expect(rel(got, want), name).toBeLessThanOrEqual(tol);
}
/**
 * attentionGrad's bound: the kernel recomputes the softmax in f32 (exp(s − lse), exp only within 3 + 2|x| ulp on GPUs)
 * and dq, dk take ds = p·(dO·v − dO·o), a difference of nearby numbers, so its error is that of the forward's
 * probabilities amplified; SwiftShader measures ~2e-6, a tenth of TOL.f32, and 1e-4 leaves room for hardware exp.
 */
const ATTN_TOL = 1e-4;
const up = (t: CpuTensor) => gpu.upload(t.data, t.shape);
const read = (t: GpuTensor) => gpu.read(t);

describe('backward kernels match their twins (f32, real block-0 activations)', () => {
  it('matmulGradX and matmulGradW (gate_proj: N = 172; down_proj: K = 172; q_proj)', async () => {
    for (const [wName, xTap, yTap] of [
      ['q', 'q.in', 'q.out'],
      ['gate', 'ffn_norm', 'gate.out'],
      ['down', 'down.in', 'down.out'],
    ] as const) {
      const W = S.w.linears[wName]!.W!;
      const x = tap(S, xTap);
      const dY = tap(S, yTap); // a real activation of the output's shape as the upstream gradient
      expectClose('matmulGradX', await read(ops.matmulGradX(gpu, up(dY), up(W))), ref.matmulGradX(dY, W).data);
      expectClose('matmulGradW', await read(ops.matmulGradW(gpu, up(dY), up(x))), ref.matmulGradW(dY, x).data);
    }
  });

  it('rmsNormGrad (stories260K) and layerNormGrad (opt-tiny) on the real block inputs', async () => {
    for (const [x, g, dy] of [
      [S.h0, S.w.attnNorm.g, tap(S, 'q.out')],
      [h1(S), S.w.ffnNorm.g, tap(S, 'down.out')],
    ] as const)
      expectClose(
        'rmsNormGrad',
        await read(ops.rmsNormGrad(gpu, up(x), up(g), up(dy), S.eps)),
        ref.rmsNormGrad(x, g, dy, S.eps).data,
      );
    const dy = tap(O, 'q.out');
    expectClose(
      'layerNormGrad',
      await read(ops.layerNormGrad(gpu, up(O.h0), up(O.w.attnNorm.g), up(dy), O.eps)),
      ref.layerNormGrad(O.h0, O.w.attnNorm.g, dy, O.eps).data,
    );
  });

  it('ropeGrad on real q- and k-shaped tensors (8 and 4 heads) with the model’s tables', async () => {
    const { cos, sin } = S.rope!;
    for (const [name, H] of [
      ['q.out', 8],
      ['k.out', 4],
    ] as const) {
      const dx = tap(S, name);
      const g = up(dx);
      ops.ropeGrad(gpu, up(cos), up(sin), g, H, 8);
      const r = copy(dx);
      ref.ropeGrad(cos, sin, r, H, 8);
      expectClose('ropeGrad', await read(g), r.data);
    }
  });

  it('attentionGrad: stories260K GQA (8 heads on 4, D = 8) and opt-tiny (4 heads, D = 32), 45 tokens', async () => {
    for (const [b, H, HKV, D, qn, kn] of [
      [S, 8, 4, 8, 'q_rope', 'k_rope'],
      [O, 4, 4, 32, 'q.out', 'k.out'],
    ] as const) {
      const [q, k, v, dO] = [tap(b, qn), tap(b, kn), tap(b, 'v.out'), tap(b, 'o.out')];
      const scale = 1 / Math.sqrt(D);
      const want = ref.attentionGrad(q, k, v, dO, H, HKV, D, scale);
      const got = ops.attentionGrad(gpu, up(q), up(k), up(v), up(dO), H, HKV, D, scale);
      const [dq, dk, dv] = await gpu.readMany([got.dq, got.dk, got.dv]);
      expectClose('attentionGrad dq', dq, want.dq.data, ATTN_TOL);
      expectClose('attentionGrad dk', dk, want.dk.data, ATTN_TOL);
      expectClose('attentionGrad dv', dv, want.dv.data, ATTN_TOL);
    }
  });

  it('reluGrad and geluGrad on opt-tiny’s fc1 pre-activation; siluMulGrad on the real gate/up', async () => {
    const x = tap(O, 'up.out');
    const dy = tap(O, 'down.in');
    const y = copy(x);
    ref.relu(y);
    const d1 = up(dy);
    ops.reluGrad(gpu, up(y), d1);
    const r1 = copy(dy);
    ref.reluGrad(y, r1);
    expectClose('reluGrad', await read(d1), r1.data, 0);
    const d2 = up(dy);
    ops.geluGrad(gpu, up(x), d2);
    const r2 = copy(dy);
    ref.geluGrad(x, r2);
    expectClose('geluGrad', await read(d2), r2.data);
    const [gate, upT, d] = [tap(S, 'gate.out'), tap(S, 'up.out'), tap(S, 'down.in')];
    const got = ops.siluMulGrad(gpu, up(gate), up(upT), up(d));
    const want = ref.siluMulGrad(gate, upT, d);
    expectClose('siluMulGrad dGate', await read(got.dGate), want.dGate.data);
    expectClose('siluMulGrad dUp', await read(got.dUp), want.dUp.data);
  });

  it('blockRotateGrad: shared and per-block matrices, with and without a permutation, widths 64 and 172', async () => {
    const r = rng(7);
    for (const [name, n] of [
      ['ffn_norm', 16],
      ['down.in', 86],
    ] as const) {
      const dy = tap(S, name);
      const C = dy.shape[1];
      const perm = Uint32Array.from({ length: C }, (_, i) => (i * 37 + 11) % C);
      for (const blocks of [1, C / n]) {
        const R = ref.cpu(Float32Array.from({ length: blocks * n * n }, r), [blocks, n, n]);
        for (const p of [null, perm]) {
          const got = await read(ops.blockRotateGrad(gpu, up(dy), up(R), n, p && gpu.upload(p, [C])));
          expectClose('blockRotateGrad', got, ref.blockRotateGrad(dy, R, n, p).data);
        }
      }
    }
  });

  it('adamW: two steps on a real weight with a real gradient (matmulGradW of q_proj)', async () => {
    const W = S.w.linears.q!.W!;
    const g = ref.matmulGradW(tap(S, 'q.out'), tap(S, 'q.in'));
    const zeros = () => ref.cpu(new Float32Array(W.data.length), [...W.shape]);
    const [p, m, v] = [copy(W), zeros(), zeros()];
    const [gp, gm, gv, gg] = [up(p), up(m), up(v), up(g)];
    for (const step of [1, 2]) {
      ops.adamW(gpu, gp, gg, gm, gv, step, 1e-3, 0.9, 0.999, 1e-8, 0.01);
      ref.adamW(p, g, m, v, step, 1e-3, 0.9, 0.999, 1e-8, 0.01);
    }
    const [P, M, V] = await gpu.readMany([gp, gm, gv]);
    expectClose('adamW p', P, p.data);
    expectClose('adamW m', M, m.data);
    expectClose('adamW v', V, v.data);
    // the update itself, not only p's scale: within a few f32 ulps of p per element
    let worst = 0;
    for (let i = 0; i < P.length; i++)
      worst = Math.max(worst, Math.abs(P[i] - p.data[i]) / Math.max(Math.abs(p.data[i]), 1e-3));
    expect(worst).toBeLessThan(1e-6);
  });

  it('mseGrad: the loss (one compensated workgroup sum) to 1e-6 and the gradient, 7740 and 23040 values', async () => {
    for (const [a, b] of [
      [tap(S, 'gate.out'), tap(S, 'up.out')],
      [tap(O, 'up.out'), tap(O, 'down.in')],
    ] as const) {
      const got = ops.mseGrad(gpu, up(a), up(b));
      const want = ref.mseGrad(a, b);
      const [loss, grad] = await gpu.readMany([got.loss, got.grad]);
      // the twin sums in f64 and stores f32; compare with the f64 sum itself
      let s = 0;
      for (let i = 0; i < a.data.length; i++) s += (a.data[i] - b.data[i]) ** 2;
      expectClose('mseGrad loss', loss, [s / a.data.length], 1e-6);
      expectClose('mseGrad loss', loss, want.loss.data, 1e-6);
      expectClose('mseGrad grad', grad, want.grad.data);
    }
  });
});
