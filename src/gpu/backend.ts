// The forward pass and every quantization method are written once against this interface and run on two backends:
// WebGPU (ops.ts, the WGSL kernels) and the plain TypeScript reference (reference.ts, their twins). Comparing the two
// narrows a wrong whole-model or quantized figure down op by op.
import type { Gpu } from './gpu.ts';
import * as ops from './ops.ts';
import * as ref from './reference.ts';
import type { FactorStep, QuantGrid } from './reference.ts';
import { fromHalfBits, type Half } from './half.ts';
import type { GpuTensor } from './tensor.ts';

export interface Backend<T> {
  readonly name: 'webgpu' | 'reference';
  /** the adapter, as it describes itself ('reference' for the TypeScript twins): what per-adapter choices key on */
  readonly adapter: string;
  /** a copy of host data on the backend */
  fromHost(data: Float32Array, shape: readonly number[]): T;
  /** weights in 16-bit storage from their encodings (a checkpoint's F16/BF16 bytes), never widened on the GPU */
  fromHost16(bits: Uint16Array, format: Half, shape: readonly number[]): T;
  /** x (f32) as 16-bit weight storage, a new tensor: what a quantized layer goes back as */
  pack16(x: T, format: Half): T;
  /** how x is stored: f32, or f16 / bf16 weights */
  storage(x: T): 'f32' | Half;
  /** a zero-filled tensor */
  zeros(shape: readonly number[]): T;
  shape(x: T): readonly number[];
  /** u32 data (token ids, labels, column groups) on the backend */
  ids(data: Uint32Array): Ids<T>;
  matmul(x: T, W: T, b: T | null): T;
  /** y[t] = E[ids[t] − v0] for the ids E's rows hold, into out (a row chunk of a larger matrix) or a new tensor */
  embed(E: T, ids: Ids<T>, out?: T | null, v0?: number): T;
  /** perm: the norm's output channel c is input channel perm[c] (a folded reorder) */
  layerNorm(x: T, g: T, b: T, eps: number, perm?: Ids<T> | null): T;
  rmsNorm(x: T, g: T, eps: number, perm?: Ids<T> | null): T;
  /** layout (packed token trees, [T, 4] u32): each token's position is its 4th value, not pos0 + t */
  rope(cos: T, sin: T, x: T, H: number, D: number, pos0: number, layout?: Ids<T> | null): void;
  /** probLevels > 0: softmax probabilities rounded to round(p·L)/L; layout: query t sees keys [x, y) then [z, t] */
  attention(
    q: T,
    k: T,
    v: T,
    H: number,
    HKV: number,
    D: number,
    scale: number,
    probLevels?: number,
    layout?: Ids<T> | null,
  ): T;
  /** in place: static fake-quant with each channel's cluster parameters */
  actQuant(x: T, q: ActQuant<T>): void;
  relu(y: T): void;
  gelu(y: T): void;
  siluMul(gate: T, up: T): T;
  add(d: T, h: T): void;
  /** in place: folds logits [N, Vc] of vocabulary columns [v0, v0 + Vc) into state [N, 4] (online log-sum-exp) */
  vocabChunk(logits: T, targets: Ids<T>, state: T, v0: number): void;
  /** in place: rows [offset, offset + N) of scores [rows, 2] ← (log p(target), target is the argmax) from state */
  finishScores(state: T, targets: Ids<T>, scores: T, offset: number): void;
  /** per request, rows [starts[r], starts[r + 1]): (Σ log p, all greedy), [R, 2] */
  requestSums(scores: T, starts: Ids<T>): T;
  /** rows [r0, r1) of a [rows, C] tensor, as a new tensor */
  rows(x: T, r0: number, r1: number): T;
  countNonFinite(x: T): Promise<number>;
  toHost(x: T): Promise<Float32Array>;
  /** several tensors back in one go (one sync on the GPU) */
  readMany(xs: T[]): Promise<Float32Array[]>;
  readIds(x: Ids<T>): Promise<Uint32Array>;
  /** resolves when the work queued so far is done (for timings) */
  sync(): Promise<void>;
  release(x: T | Ids<T> | null | undefined): void;
  /** largest tensor, in bytes, one binding can hold */
  readonly maxTensorBytes: number;
  /**
   * a CPU runs the kernels (the reference, or a software adapter such as SwiftShader): serial searches go faster on the
   * host
   */
  readonly software: boolean;

  // quantization kernels: GPTQ (Hessian, grid, column loop, lazy update), output error, RPTQ's statistics and k-means
  /** in place: H ← alpha·H + beta·XᵀX */
  hessian(X: T, H: T, alpha: number, beta: number): void;
  /** (scale, zero) of groups [firstGroup, firstGroup + numGroups) of every row into params [R, groups, 2] */
  quantParams(W: T, params: T, grid: QuantGrid, firstGroup: number, numGroups: number): void;
  fakeQuant(W: T, params: T, colGroup: Ids<T>, grid: QuantGrid): T;
  gptqBlock(U: T, W: T, params: T, colGroup: Ids<T>, Q: T, Err: T, i1: number, count: number, maxq: number): void;
  gptqUpdate(U: T, Err: T, W: T, i1: number, count: number): void;
  /** per-row (Σ (yq − y)², Σ y²): [T, 2] */
  outputError(yq: T, y: T): T;
  /** in place: range [C, 2] ← per-channel (min, max) including X */
  channelRange(X: T, range: T): void;
  kmeansAssign(P: T, M: T, label: Ids<T>, dist: T, K: number, seg: number): void;
  kmeansUpdate(P: T, label: Ids<T>, M: T, K: number, seg: number): void;
  /** in place on x viewed as [rows, G]: per-row dynamic asymmetric fake-quant, the row's min and max times lac */
  tokenQuant(x: T, G: number, maxq: number, lac: number): void;
  /** x (columns gathered by perm when given) times block-diagonal R [blocks or 1, n, n]: a new tensor */
  blockRotate(x: T, R: T, n: number, perm?: Ids<T> | null): T;
  /**
   * DuQuant's greedy search, one step's pick: peaks[step] ← max − min of W; with record, chans[step] ← its
   * channel
   */
  greedyPick(W: T, peaks: T, chans: Ids<T>, step: number, n: number, record: boolean, refExchange: boolean): void;
  /** one step's rotation: W [rows, n] · P_c·A·P_c with c = chans[step], a new tensor */
  greedyApply(W: T, A: T, chans: Ids<T>, step: number, n: number): T;
  /** CLAQ's column loop over columns [i1, i1 + count): codebooks by k-means, reserved outliers, GPTQ's feedback */
  claqBlock(
    U: T,
    W: T,
    colInfo: Ids<T>,
    Q: T,
    Err: T,
    book: T,
    Wfit: T,
    scratch: T,
    i1: number,
    count: number,
    seed: number,
    maxIter: number,
    fit: boolean,
  ): void;
  /** GPTQ's factorization on the backend: one step of the blocked Cholesky / triangular inverse (factorization.ts) */
  factorStep(step: FactorStep, A: T, X: T, flag: Ids<T>, n: number, k0: number, b: number): void;
  /**
   * One GPTQ-v1 checkpoint layer (src/model/gptqPacking.ts) dequantized to W [N, K] f32 (the lab's [out, in]):
   * W[n, k] = scales[g, n] · (q[k, n] − (stored zero + 1)), g = gIdx[k]. qweight [K·bits/32, N], qzeros
   * [G, N·bits/32] and gIdx [K] as ids; scales [G, N] from fromHost16 (f16). Bit-identical to dequantizeGptq.
   */
  gptqDequant(
    layer: { qweight: Ids<T>; qzeros: Ids<T>; scales: T; gIdx: Ids<T> },
    bits: number,
    N: number,
    K: number,
    G: number,
  ): T;
}

/** Static activation fake-quant at one site (RPTQ): each channel's cluster and (scale, zero) per cluster. */
export interface ActQuant<T> {
  cluster: Ids<T>; // [C] u32
  params: T; // [clusters, 2]
  maxq: number;
}

/** token ids on a backend */
export type Ids<T> = T extends GpuTensor ? GpuTensor : Uint32Array;

export function gpuBackend(gpu: Gpu): Backend<GpuTensor> {
  return {
    name: 'webgpu',
    adapter: gpu.info.description,
    fromHost: (d, s) => gpu.upload(d, s),
    fromHost16: (bits, f, s) => gpu.upload16(bits, f, s),
    pack16: (x, f) => ops.pack16(gpu, x, f),
    storage: (x) => (x.dtype === 'f16' || x.dtype === 'bf16' ? x.dtype : 'f32'),
    zeros: (s) => gpu.upload(new Float32Array(s.reduce((a, b) => a * b, 1)), s),
    shape: (x) => x.shape,
    ids: (d) => gpu.upload(d, [d.length], 'ids'),
    matmul: (x, W, b) => ops.matmul(gpu, x, W, b),
    embed: (E, ids, out, v0) => ops.embed(gpu, E, ids, out ?? null, v0 ?? 0),
    layerNorm: (x, g, b, eps, perm) => ops.layerNorm(gpu, x, g, b, eps, perm ?? null),
    rmsNorm: (x, g, eps, perm) => ops.rmsNorm(gpu, x, g, eps, perm ?? null),
    rope: (c, s, x, H, D, p, lay) => ops.rope(gpu, c, s, x, H, D, p, lay ?? null),
    attention: (q, k, v, H, HKV, D, sc, levels, lay) =>
      ops.attention(gpu, q, k, v, H, HKV, D, sc, levels ?? 0, lay ?? null),
    actQuant: (x, a) => ops.actQuant(gpu, a.cluster, a.params, x, a.maxq),
    relu: (y) => ops.relu(gpu, y),
    gelu: (y) => ops.gelu(gpu, y),
    siluMul: (g, u) => ops.siluMul(gpu, g, u),
    add: (d, h) => ops.add(gpu, d, h),
    vocabChunk: (l, t, st, v0) => ops.vocabChunk(gpu, l, t, st, v0),
    finishScores: (st, t, s, off) => ops.finishScores(gpu, st, t, s, off),
    requestSums: (s, st) => ops.requestSums(gpu, s, st),
    rows(x, r0, r1) {
      const C = x.shape[x.shape.length - 1];
      const out = gpu.tensor([r1 - r0, C], 'f32', 'rows');
      gpu.copy(x, r0 * C, out, 0, (r1 - r0) * C);
      return out;
    },
    countNonFinite: (x) => ops.checkFinite(gpu, x),
    toHost: (x) => gpu.read(x),
    readMany: (xs) => gpu.readMany(xs),
    readIds: (x) => gpu.readU32(x),
    sync: () => gpu.sync(),
    release: (x) => gpu.release(x as GpuTensor | null),
    get maxTensorBytes() {
      return Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    },
    software: gpu.info.software,
    hessian: (X, H, a, b) => ops.hessian(gpu, X, H, a, b),
    quantParams: (W, p, grid, f, n) => ops.quantParams(gpu, W, p, grid, f, n),
    fakeQuant: (W, p, cg, grid) => ops.fakeQuant(gpu, W, p, cg, grid),
    gptqBlock: (U, W, p, cg, Q, E, i1, c, maxq) => ops.gptqBlock(gpu, U, W, p, cg, Q, E, i1, c, maxq),
    gptqUpdate: (U, E, W, i1, c) => ops.gptqUpdate(gpu, U, E, W, i1, c),
    outputError: (yq, y) => ops.outputError(gpu, yq, y),
    channelRange: (X, r) => ops.channelRange(gpu, X, r),
    kmeansAssign: (P, M, l, d, K, seg) => ops.kmeansAssign(gpu, P, M, l, d, K, seg),
    kmeansUpdate: (P, l, M, K, seg) => ops.kmeansUpdate(gpu, P, l, M, K, seg),
    tokenQuant: (x, G, maxq, lac) => ops.tokenQuant(gpu, x, G, maxq, lac),
    blockRotate: (x, R, n, perm) => ops.blockRotate(gpu, x, R, n, perm ?? null),
    greedyPick: (W, p, ch, s, n, rec, rx) => ops.greedyPick(gpu, W, p, ch, s, n, rec, rx),
    greedyApply: (W, A, ch, s, n) => ops.greedyApply(gpu, W, A, ch, s, n),
    claqBlock: (U, W, ci, Q, E, book, Wfit, scratch, i1, c, seed, it, fit) =>
      ops.claqBlock(gpu, U, W, ci, Q, E, book, Wfit, scratch, i1, c, seed, it, fit),
    factorStep: (st, A, X, flag, n, k0, b) => ops.factorStep(gpu, st, A, X, flag, n, k0, b),
    gptqDequant: (l, bits, N, K, G) => ops.gptqDequant(gpu, l.qweight, l.qzeros, l.scales, l.gIdx, bits, N, K, G),
  };
}

export function referenceBackend(): Backend<ref.CpuTensor> {
  return {
    name: 'reference',
    adapter: 'reference',
    fromHost: (d, s) => ref.cpu(d.slice(), [...s]),
    // the reference keeps every tensor in f32: 16-bit storage is the values 16 bits hold
    fromHost16: (bits, f, s) => ref.cpu(fromHalfBits(bits, f), [...s]),
    pack16: ref.pack16,
    storage: () => 'f32',
    zeros: (s) => ref.cpu(new Float32Array(s.reduce((a, b) => a * b, 1)), [...s]),
    shape: (x) => x.shape,
    ids: (d) => d.slice() as Ids<ref.CpuTensor>,
    matmul: ref.matmul,
    embed: (E, ids, out, v0) => ref.embed(E, ids as Uint32Array, out ?? null, v0 ?? 0),
    layerNorm: (x, g, b, eps, perm) => ref.layerNorm(x, g, b, eps, (perm as Uint32Array | null | undefined) ?? null),
    rmsNorm: (x, g, eps, perm) => ref.rmsNorm(x, g, eps, (perm as Uint32Array | null | undefined) ?? null),
    rope: (c, s, x, H, D, p, lay) => ref.rope(c, s, x, H, D, p, (lay as Uint32Array | null | undefined) ?? null),
    attention: (q, k, v, H, HKV, D, sc, levels, lay) =>
      ref.attention(q, k, v, H, HKV, D, sc, levels ?? 0, (lay as Uint32Array | null | undefined) ?? null),
    actQuant: (x, a) => ref.actQuant(a.cluster as Uint32Array, a.params, x, a.maxq),
    relu: ref.relu,
    gelu: ref.gelu,
    siluMul: ref.siluMul,
    add: ref.add,
    vocabChunk: (l, t, st, v0) => ref.vocabChunk(l, t as Uint32Array, st, v0),
    finishScores: (st, t, s, off) => ref.finishScores(st, t as Uint32Array, s, off),
    requestSums: (s, st) => ref.requestSums(s, st as Uint32Array),
    rows: (x, r0, r1) => {
      const C = x.shape[x.shape.length - 1];
      return ref.cpu(x.data.slice(r0 * C, r1 * C), [r1 - r0, C]);
    },
    countNonFinite: async (x) => ref.checkFinite(x),
    toHost: async (x) => x.data.slice(),
    readMany: async (xs) => xs.map((x) => x.data.slice()),
    readIds: async (x) => (x as Uint32Array).slice(),
    sync: async () => {},
    release: () => {},
    maxTensorBytes: 2 ** 31,
    software: true,
    hessian: ref.hessian,
    quantParams: ref.quantParams,
    fakeQuant: (W, p, cg, grid) => ref.fakeQuant(W, p, cg as Uint32Array, grid),
    gptqBlock: (U, W, p, cg, Q, E, i1, c, maxq) => ref.gptqBlock(U, W, p, cg as Uint32Array, Q, E, i1, c, maxq),
    gptqUpdate: ref.gptqUpdate,
    outputError: ref.outputError,
    channelRange: ref.channelRange,
    kmeansAssign: (P, M, l, d, K, seg) => ref.kmeansAssign(P, M, l as Uint32Array, d.data, K, seg),
    kmeansUpdate: (P, l, M, K, seg) => ref.kmeansUpdate(P, l as Uint32Array, M, K, seg),
    tokenQuant: ref.tokenQuant,
    blockRotate: (x, R, n, perm) => ref.blockRotate(x, R, n, (perm as Uint32Array | null | undefined) ?? null),
    greedyPick: (W, p, ch, s, n, rec, rx) => ref.greedyPick(W, p, ch as Uint32Array, s, n, rec, rx),
    greedyApply: (W, A, ch, s, n) => ref.greedyApply(W, A, ch as Uint32Array, s, n),
    claqBlock: (U, W, ci, Q, E, book, Wfit, _scratch, i1, c, seed, it, fit) =>
      ref.claqBlock(U, W, ci as Uint32Array, Q, E, book, Wfit, i1, c, seed, it, fit),
    factorStep: (st, A, X, flag, n, k0, b) => ref.factorStep(st, A, X, flag as Uint32Array, n, k0, b),
    gptqDequant: (l, bits, N, K, G) =>
      ref.gptqDequant(
        l.qweight as Uint32Array,
        l.qzeros as Uint32Array,
        l.scales,
        l.gIdx as Uint32Array,
        bits,
        N,
        K,
        G,
      ),
  };
}
