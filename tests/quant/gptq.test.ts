// GPTQ on WebGPU against the plain-TypeScript reference of methods.md, on a real layer (opt-tiny fc1 / fc2) with a
// Hessian from real calibration activations; and the quantization kernels against their twins.
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/ops.ts';
import * as ref from '../../src/gpu/reference.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gpuBackend } from '../../src/gpu/backend.ts';
import { gptq, type GptqOptions } from '../../src/quant/gptq.ts';
import { gptqPlain } from '../../src/quant/gptq.plain.ts';
import { rtn } from '../../src/quant/rtn.ts';
import { cholesky, choleskyInverse, choleskyUpper } from '../../src/quant/linalg.ts';
import { TOL, relErr, sharedGpu } from '../helpers.ts';
import { hessianLoss, hessianOf, optTinyBlock1 } from './optTinyLayers.ts';

let gpu: Gpu;
/** real inputs of opt-tiny block 1: ffn_norm output [T, 128] and fc2 input [T, 512]; fc1 [512, 128], fc2 [128, 512] */
let X128: ref.CpuTensor;
let X512: ref.CpuTensor;
let W1: ref.CpuTensor;
let W2: ref.CpuTensor;

beforeAll(async () => {
  gpu = await sharedGpu();
  ({ X128, X512, W1, W2 } = await optTinyBlock1());
});

function dampened(H: Float64Array, K: number): Float64Array {
  let mean = 0;
  for (let d = 0; d < K; d++) mean += H[d * K + d] / K;
  for (let d = 0; d < K; d++) H[d * K + d] += 0.01 * mean;
  return H;
}

/** fraction of weights whose quantized values differ */
function mismatch(a: Float32Array, b: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 1e-6 * Math.max(1, Math.abs(b[i]))) n++;
  return n / a.length;
}

const base: GptqOptions = {
  wbits: 4,
  groupsize: -1,
  sym: false,
  actOrder: false,
  staticGroups: false,
  trueSequential: false,
  percdamp: 0.01,
  blocksize: 128,
};

describe('quantization kernels match their twins', () => {
  it('hessian: H ← αH + βXᵀX on real fc2 inputs (K = 512), two batches', async () => {
    const K = 512;
    const Hg = gpu.upload(new Float32Array(K * K), [K, K]);
    const Hr = ref.cpu(new Float32Array(K * K), [K, K]);
    const n = X512.shape[0];
    const half = Math.floor(n / 2);
    const a = ref.cpu(X512.data.slice(0, half * K), [half, K]);
    const b = ref.cpu(X512.data.slice(half * K), [n - half, K]);
    ops.hessian(gpu, gpu.upload(a.data, a.shape), Hg, 0, 2 / half);
    ref.hessian(a, Hr, 0, 2 / half);
    ops.hessian(gpu, gpu.upload(b.data, b.shape), Hg, half / n, 2 / n);
    ref.hessian(b, Hr, half / n, 2 / n);
    expect(relErr(await gpu.read(Hg), Hr.data)).toBeLessThan(TOL.f32);
  });

  it('quantParams + fakeQuant (RTN) on real fc1 weights: per row, groups of 32, symmetric; 3 and 4 bits', async () => {
    for (const [bits, g, sym] of [
      [4, 128, false],
      [3, 32, false],
      [4, 32, true],
    ] as const) {
      const grid = { maxq: 2 ** bits - 1, sym, groupsize: g };
      const colGroup = Uint32Array.from({ length: 128 }, (_, c) => Math.floor(c / g));
      const params = ref.cpu(new Float32Array(512 * (128 / g) * 2), [512, 128 / g, 2]);
      ref.quantParams(W1, params, grid, 0, 128 / g);
      const want = ref.fakeQuant(W1, params, colGroup, grid);
      const got = await gpu.read(
        rtn(gpuBackend(gpu), gpu.upload(W1.data, W1.shape), [512, 128], bits, g === 128 ? -1 : g, sym),
      );
      expect(relErr(got, want.data), `${bits} bits g${g} sym ${sym}`).toBeLessThan(1e-6);
    }
  });

  it('gptqBlock and gptqUpdate on a real layer and Hessian', async () => {
    const [R, K] = W2.shape;
    const U = ref.cpu(
      Float32Array.from(choleskyUpper(choleskyInverse(cholesky(dampened(hessianOf(X512), K), K), K), K)),
      [K, K],
    );
    const grid = { maxq: 15, sym: false, groupsize: K };
    const params = ref.cpu(new Float32Array(R * 2), [R, 1, 2]);
    ref.quantParams(W2, params, grid, 0, 1);
    const colGroup = new Uint32Array(K);
    const Qr = ref.cpu(new Float32Array(R * K), [R, K]);
    const Er = ref.cpu(new Float32Array(R * 128), [R, 128]);
    const Wr = ref.cpu(W2.data.slice(), [R, K]);
    ref.gptqBlock(U, Wr, params, colGroup, Qr, Er, 128, 100, 15);
    ref.gptqUpdate(U, Er, Wr, 128, 100);
    const [Ug, Wg, Pg, Cg] = [
      gpu.upload(U.data, U.shape),
      gpu.upload(W2.data, W2.shape),
      gpu.upload(params.data, params.shape),
      gpu.upload(colGroup, [K]),
    ];
    const Qg = gpu.upload(new Float32Array(R * K), [R, K]);
    const Eg = gpu.upload(new Float32Array(R * 128), [R, 128]);
    ops.gptqBlock(gpu, Ug, Wg, Pg, Cg, Qg, Eg, 128, 100, 15);
    ops.gptqUpdate(gpu, Ug, Eg, Wg, 128, 100);
    expect(mismatch(await gpu.read(Qg), Qr.data)).toBeLessThan(0.005);
    expect(relErr(await gpu.read(Eg), Er.data)).toBeLessThan(1e-3);
    expect(relErr(await gpu.read(Wg), Wr.data)).toBeLessThan(1e-4);
  });
});

it('outputError sums on real fc1 outputs, quantized vs full precision', async () => {
  const yf = ref.matmul(X128, W1, null);
  const Q = await gpu.read(rtn(gpuBackend(gpu), gpu.upload(W1.data, W1.shape), [512, 128], 3, -1, false));
  const yq = ref.matmul(X128, ref.cpu(Q, W1.shape), null);
  const got = await gpu.read(ops.outputError(gpu, gpu.upload(yq.data, yq.shape), gpu.upload(yf.data, yf.shape)));
  expect(relErr(got, ref.outputError(yq, yf).data)).toBeLessThan(1e-5);
});

describe('GPTQ on WebGPU = the reference algorithm (same quantized weights up to rounding ties)', () => {
  it.each([
    ['fc1, per row, W4', 'fc1', base],
    ['fc2 (K = 512, four blocks), W3, groups of 64', 'fc2', { ...base, wbits: 3, groupsize: 64 }],
    ['fc2, W4, act-order, groups of 128', 'fc2', { ...base, actOrder: true, groupsize: 128 }],
    [
      'fc2, W4, act-order, static groups of 32, symmetric',
      'fc2',
      { ...base, actOrder: true, staticGroups: true, groupsize: 32, sym: true },
    ],
    ['fc1, W2, blocksize 32', 'fc1', { ...base, wbits: 2, blocksize: 32 }],
  ] as const)('%s', async (_, layer, o) => {
    const [W, X] = layer === 'fc1' ? [W1, X128] : [W2, X512];
    const [R, K] = W.shape;
    const H = hessianOf(X);
    const want = gptqPlain(W.data, H, R, K, o);
    const Q = await gpu.read((await gptq(gpuBackend(gpu), W.data, H.slice(), R, K, o)).Q);
    expect(mismatch(Q, want)).toBeLessThan(0.01);
    // and it fits the layer better than RTN under the layer's Hessian
    const rtnQ = await gpu.read(rtn(gpuBackend(gpu), gpu.upload(W.data, W.shape), [R, K], o.wbits, o.groupsize, o.sym));
    expect(hessianLoss(W.data, Q, H, R, K)).toBeLessThan(hessianLoss(W.data, rtnQ, H, R, K));
  });
});
