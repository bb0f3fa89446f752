// GPTQ (Frantar et al. 2022), split like the reference code into collecting statistics (HessianAccumulator, on the
// GPU) and quantizing (gptq). The heavy parts are WGSL kernels: Hessian accumulation, the per-block column loop and
// the lazy update; the factorization runs once per layer in f64 on the CPU (linalg.ts).
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { upperCholeskyOfInverse } from './linalg.ts';
import { fitRange } from '../gpu/reference.ts';

export interface GptqOptions {
  wbits: number;
  /** columns per group; −1 = one group per row */
  groupsize: number;
  sym: boolean;
  actOrder: boolean;
  staticGroups: boolean;
  percdamp: number;
  /** ≤ 128 (the column loop keeps a block row in private memory) */
  blocksize: number;
  /** fixed column groups of any shape (RPTQ: the input clusters), fitted up front on W like static groups */
  colGroups?: { colGroup: Uint32Array; groups: number };
}

/** H = (2/n) Σ xᵀx over all calibration tokens of one linear layer's input, accumulated batch by batch. */
export class HessianAccumulator {
  readonly H: GpuTensor; // [K, K]
  private n = 0;
  constructor(
    private readonly gpu: Gpu,
    readonly K: number,
  ) {
    this.H = gpu.upload(new Float32Array(K * K), [K, K], 'H');
  }
  /** X: [T, K] inputs of one window */
  add(X: GpuTensor): void {
    const T = X.size / this.K;
    // H ← H·n/(n+T); x ← sqrt(2/(n+T))·X; H ← H + xᵀx
    ops.hessian(this.gpu, X, this.H, this.n / (this.n + T), 2 / (this.n + T));
    this.n += T;
  }
  get tokens(): number {
    return this.n;
  }
  async read(): Promise<Float64Array> {
    return Float64Array.from(await this.gpu.read(this.H));
  }
  dispose(): void {
    this.gpu.release(this.H);
  }
}

export interface GptqTimings {
  factorMs: number;
  loopMs: number;
}

/**
 * Quantizes W [R, K] against the Hessian H [K, K] (modified in place: dead inputs, damping).
 * Returns the dequantized weights Q [R, K] in the original column order.
 */
export async function gptq(gpu: Gpu, W: Float32Array, H: Float64Array, R: number, K: number, o: GptqOptions): Promise<{ Q: Float32Array; timings: GptqTimings }> {
  const maxq = 2 ** o.wbits - 1;
  const g = o.groupsize > 0 ? o.groupsize : K;
  const grid = { maxq, sym: o.sym, groupsize: g };
  const fixed = o.colGroups;
  const totalGroups = fixed ? fixed.groups : Math.ceil(K / g);
  W = W.slice();

  // dead inputs: H[d,d] = 0 → H[d,d] = 1, W[:, d] = 0
  for (let d = 0; d < K; d++) {
    if (H[d * K + d] === 0) {
      H[d * K + d] = 1;
      for (let r = 0; r < R; r++) W[r * K + d] = 0;
    }
  }
  const params = gpu.upload(fixed ? fitColumnGroups(W, R, K, fixed.colGroup, fixed.groups, maxq, o.sym) : new Float32Array(R * totalGroups * 2), [R, totalGroups, 2], 'gptq.params');
  if (o.staticGroups && o.groupsize > 0 && !fixed) {
    // every group fitted up front on the original W
    const W0 = gpu.upload(W, [R, K], 'gptq.W0');
    ops.quantParams(gpu, W0, params, grid, 0, totalGroups);
    gpu.release(W0);
  }

  // act-order: columns by decreasing Hessian diagonal (stable on ties)
  let perm: Uint32Array | null = null;
  if (o.actOrder) {
    perm = Uint32Array.from({ length: K }, (_, i) => i).sort((a, b) => H[b * K + b] - H[a * K + a] || a - b);
    W = permuteColumns(W, R, K, perm);
    H = permuteSymmetric(H, K, perm);
  }
  // fixed and static groups keep the original column's group; otherwise groups run over the (permuted) column order
  const colGroup = fixed
    ? Uint32Array.from({ length: K }, (_, i) => fixed.colGroup[perm ? perm[i] : i])
    : Uint32Array.from({ length: K }, (_, i) => Math.floor((o.staticGroups && perm ? perm[i] : i) / g));

  // damping, then U = cholesky(cholesky_inverse(cholesky(H)), upper) (by the identity in linalg.ts)
  const t0 = performance.now();
  let meanDiag = 0;
  for (let d = 0; d < K; d++) meanDiag += H[d * K + d] / K;
  for (let d = 0; d < K; d++) H[d * K + d] += o.percdamp * meanDiag;
  const U64 = upperCholeskyOfInverse(H, K);
  const t1 = performance.now();

  const U = gpu.upload(Float32Array.from(U64), [K, K], 'gptq.U');
  const Wg = gpu.upload(W, [R, K], 'gptq.W');
  const Q = gpu.tensor([R, K], 'f32', 'gptq.Q');
  const Err = gpu.tensor([R, ops.GPTQ_BLOCK], 'f32', 'gptq.Err');
  const colGroupT = gpu.upload(colGroup, [K], 'gptq.colGroup');
  if (o.groupsize <= 0 && !fixed) ops.quantParams(gpu, Wg, params, grid, 0, 1);
  for (let i1 = 0; i1 < K; i1 += o.blocksize) {
    const count = Math.min(o.blocksize, K - i1);
    if (o.groupsize > 0 && !o.staticGroups && !fixed) {
      // groups that start inside this block, fitted on W as the lazy updates left it
      const first = Math.ceil(i1 / g);
      const last = Math.floor((i1 + count - 1) / g);
      if (last >= first) ops.quantParams(gpu, Wg, params, grid, first, last - first + 1);
    }
    ops.gptqBlock(gpu, U, Wg, params, colGroupT, Q, Err, i1, count, maxq);
    ops.gptqUpdate(gpu, U, Err, Wg, i1, count);
  }
  let out = await gpu.read(Q);
  for (const t of [U, Wg, Q, Err, colGroupT, params]) gpu.release(t);
  if (perm) out = permuteColumns(out, R, K, inversePermutation(perm));
  return { Q: out, timings: { factorMs: t1 - t0, loopMs: performance.now() - t1 } };
}

/** (scale, zero) per (row, group) for groups given as a column → group map: params [R, groups, 2]. */
export function fitColumnGroups(W: Float32Array, R: number, K: number, colGroup: Uint32Array, groups: number, maxq: number, sym: boolean): Float32Array {
  const params = new Float32Array(R * groups * 2);
  const lo = new Float64Array(groups);
  const hi = new Float64Array(groups);
  for (let r = 0; r < R; r++) {
    lo.fill(Infinity);
    hi.fill(-Infinity);
    for (let c = 0; c < K; c++) {
      const j = colGroup[c];
      const w = W[r * K + c];
      if (w < lo[j]) lo[j] = w;
      if (w > hi[j]) hi[j] = w;
    }
    for (let j = 0; j < groups; j++) {
      const [scale, zero] = fitRange(lo[j], hi[j], maxq, sym);
      params[(r * groups + j) * 2] = scale;
      params[(r * groups + j) * 2 + 1] = zero;
    }
  }
  return params;
}

export function permuteColumns(W: Float32Array, R: number, K: number, perm: ArrayLike<number>): Float32Array {
  const out = new Float32Array(R * K);
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) out[r * K + c] = W[r * K + perm[c]];
  return out;
}

function permuteSymmetric(H: Float64Array, K: number, perm: ArrayLike<number>): Float64Array {
  const out = new Float64Array(K * K);
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) out[i * K + j] = H[perm[i] * K + perm[j]];
  return out;
}

export function inversePermutation(perm: ArrayLike<number>): Uint32Array {
  const inv = new Uint32Array(perm.length);
  for (let i = 0; i < perm.length; i++) inv[perm[i]] = i;
  return inv;
}
