// The kernel table: every WGSL kernel once, with its family (shaders/<shader>.wgsl), its place on Backend (flat for
// the core ops the forward pass and every method use, else under its method's name), the entry points it dispatches
// with the @workgroup_size its dispatch math assumes, the WGSL constants the TypeScript side relies on too, its GPU
// host side (the op, below) and its CPU twin (reference.ts). Both Backend adapters are built from this table
// (backend.ts) and the Backend type is derived from the twins' signatures, so a kernel is its shader, its op and entry
// here, its twin and its test (tests/gpu/kernels.test.ts checks the table against the shaders, the twins and both
// adapters). An op takes exactly its twin's arguments with `gpu` first, on GpuTensors where the twin has CpuTensors
// or Uint32Array ids; it allocates its outputs and returns them.
import type { Gpu } from './gpu.ts';
import type { Half } from './half.ts';
import * as ref from './reference.ts';
import {
  CLAQ_BOOK,
  CLAQ_MAXK,
  CLAQ_WG,
  GPTQ_BLOCK,
  gptqShapeError,
  type CpuTensor,
  type FactorStep,
  type QuantGrid,
} from './reference.ts';
import type { ActQuant, GpuTensor, Ids } from './tensor.ts';

// ---- the table's types ---------------------------------------------------------------------------------------------

/** where a kernel sits on Backend: `core` flat, a method's kernels under `be.<method>` */
export type Group = 'core' | 'gptq' | 'rptq' | 'duquant' | 'claq' | 'checkpoint' | 'train';

/** a twin: a function of CpuTensors, Uint32Array ids and plain values */
export type Twin = (...args: never[]) => unknown;

/**
 * A twin's argument or result type on a backend with tensors T: CpuTensor → T, Uint32Array ids → Ids<T>, through
 * nullables, promises and plain objects (ActQuant's fields); everything else as it is.
 */
export type OnBackend<X, T> = X extends CpuTensor
  ? T
  : X extends Uint32Array
    ? Ids<T>
    : X extends Promise<infer R>
      ? Promise<OnBackend<R, T>>
      : X extends ArrayBufferView | ((...args: never[]) => unknown)
        ? X
        : X extends object
          ? { [K in keyof X]: OnBackend<X[K], T> }
          : X;

/** a twin's argument list on a backend (names and optional arguments kept) */
export type OnBackendArgs<P extends readonly unknown[], T> = { [I in keyof P]: OnBackend<P[I], T> };

/** a kernel as a Backend<T> method: the twin's signature on T */
export type KernelOn<F extends Twin, T> = (...args: OnBackendArgs<Parameters<F>, T>) => OnBackend<ReturnType<F>, T>;

/** the GPU op a twin asks for: its signature on GpuTensor, with gpu first */
export type GpuOp<F extends Twin> = (
  gpu: Gpu,
  ...args: OnBackendArgs<Parameters<F>, GpuTensor>
) => OnBackend<ReturnType<F>, GpuTensor>;

/** true when A and B are the same type (not merely assignable) */
type Same<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;

/** O exactly as F asks (arguments and result), or a type O cannot meet, whose name says why */
type ExactOp<O, F extends Twin> = O extends (...args: infer A) => infer R
  ? Same<A, Parameters<GpuOp<F>>> extends true
    ? Same<R, ReturnType<GpuOp<F>>> extends true
      ? O
      : { 'the op must return what its twin returns, on GpuTensor': GpuOp<F> }
    : { "the op must take its twin's arguments, gpu first, GpuTensor for CpuTensor and ids": GpuOp<F> }
  : never;

export interface KernelSpec<F extends Twin = Twin, O = GpuOp<F>> {
  group: Group;
  /** shaders/<shader>.wgsl */
  shader: string;
  /** each entry point the op dispatches, with the @workgroup_size its dispatch math assumes ([x] or [x, y]) */
  workgroups: { readonly [entryPoint: string]: readonly number[] };
  /** WGSL `const`s of the shader that the op or the twin relies on too, with the value they assume */
  consts?: { readonly [name: string]: number };
  op: ExactOp<O, F>;
  twin: F;
}

type TwinOf<S> = S extends { twin: infer F extends Twin } ? F : never;
type OpOf<S> = S extends { op: infer O } ? O : never;

/** the table, each op checked against its own twin */
function table<const K extends { [N in keyof K]: KernelSpec<TwinOf<K[N]>, OpOf<K[N]>> }>(kernels: K): K {
  return kernels;
}

// ---- dispatch helpers ---------------------------------------------------------------------------------------------

/** Workgroups for a flat kernel of n threads (wg per workgroup), folded into y when x would pass the limit. */
function flat(gpu: Gpu, n: number, wg: number): [number, number] {
  const groups = Math.ceil(n / wg);
  const maxX = gpu.limits.maxComputeWorkgroupsPerDimension;
  return groups <= maxX ? [groups, 1] : [maxX, Math.ceil(groups / maxX)];
}

function rowsCols(t: GpuTensor): [number, number] {
  const C = t.shape[t.shape.length - 1];
  return [t.size / C, C];
}

/** how a tensor is stored, as the kernels' W_FORMAT / E_FORMAT / S_FORMAT overrides (half16.wgsl's FORMAT_*) */
export const FORMAT: Record<GpuTensor['dtype'], number> = { f32: 0, u32: 0, f16: 1, bf16: 2 };

// ---- the forward pass -----------------------------------------------------------------------------------------------

/** f32 x as 16-bit weight storage (round to nearest even; twin: half.ts), a new tensor. */
export function pack16(gpu: Gpu, x: GpuTensor, format: Half): GpuTensor {
  const out = gpu.tensor(x.shape, format, 'pack16.out');
  gpu.dispatch(
    gpu.pipeline('convert', 'pack16'),
    [x, out],
    [{ u32: x.size }, { u32: format === 'bf16' ? 1 : 0 }],
    flat(gpu, Math.ceil(x.size / 2), KERNELS.pack16.workgroups.pack16[0]),
  );
  return out;
}

export function matmul(gpu: Gpu, x: GpuTensor, W: GpuTensor, b: GpuTensor | null): GpuTensor {
  const [M, K] = rowsCols(x);
  const [N, K2] = W.shape;
  if (K !== K2) throw new Error(`matmul: x has ${K} columns, W is [${W.shape}]`);
  const y = gpu.tensor([...x.shape.slice(0, -1), N], 'f32', 'matmul.y');
  const params = [{ u32: M }, { u32: N }, { u32: K }];
  const constants = { HAS_BIAS: b ? 1 : 0, W_FORMAT: FORMAT[W.dtype] };
  const wg = KERNELS.matmul.workgroups;
  // every thread computes a 4 × 4 block of y
  if (gpu.variant('matmul') === 'direct') {
    const entry = K % 4 !== 0 ? 'direct' : W.dtype === 'f32' ? 'direct4' : 'direct4h';
    const k4: Record<string, number> = entry === 'direct' ? {} : { K4: K / 4 };
    gpu.dispatch(gpu.pipeline('matmul', entry, { ...constants, ...k4 }), [x, W, b ?? W, y], params, [
      Math.ceil(N / (4 * wg[entry][0])),
      Math.ceil(M / (4 * wg[entry][1])),
    ]);
  } else {
    gpu.dispatch(gpu.pipeline('matmul', 'main', constants), [x, W, b ?? W, y], params, [
      Math.ceil(N / (4 * wg.main[0])),
      Math.ceil(M / (4 * wg.main[1])),
    ]);
  }
  return y;
}

/** codes, scales and g_idx sizes a packed layer of N × K at `bits` must have, or why not */
function packedShapeError(codes: GpuTensor, scales: GpuTensor, gIdx: GpuTensor, bits: number, N: number, K: number) {
  const words = Math.ceil((K * bits) / 32) * N;
  if (codes.size !== words || gIdx.size !== K || !Number.isInteger(scales.size / N))
    return `codes ${codes.size} words (want ${words}), g_idx ${gIdx.size} (want ${K}), scales ${scales.size}`;
  return null;
}

/**
 * A packed layer as a dense W [N, K] in `format` (0 f32, 1 f16, 2 bf16: packedDequant.wgsl), for a prefill's tiled
 * matmul; the caller releases it.
 */
export function packedDequant(
  gpu: Gpu,
  codes: GpuTensor,
  zeros: GpuTensor,
  scales: GpuTensor,
  gIdx: GpuTensor,
  bits: number,
  N: number,
  K: number,
  format = 0,
): GpuTensor {
  const bad = packedShapeError(codes, scales, gIdx, bits, N, K);
  if (bad) throw new Error(`packedDequant: ${bad}`);
  const dtype = format === 0 ? 'f32' : format === 1 ? 'f16' : 'bf16';
  const W = gpu.tensor([N, K], dtype, 'packedDequant.W');
  gpu.dispatch(
    gpu.pipeline('packedDequant', 'main', { S_FORMAT: FORMAT[scales.dtype], OUT_FORMAT: format }),
    [codes, zeros, scales, gIdx, W],
    [{ u32: N }, { u32: K }, { u32: bits }, { u32: Math.ceil((N * bits) / 32) }],
    flat(gpu, format === 0 ? N * K : Math.ceil((N * K) / 2), KERNELS.packedDequant.workgroups.main[0]),
  );
  return W;
}

/**
 * y = x·Wᵀ + b with W packed: up to four rows (decoding) read the codes directly (matmulPacked.wgsl); more rows (a
 * prefill) dequantize the layer into a transient dense copy in the store's format and run the tiled matmul on it.
 * round: that format (0 f32, 1 f16, 2 bf16), to which each dequantized weight is rounded as the dense copy was.
 */
export function matmulPacked(
  gpu: Gpu,
  x: GpuTensor,
  codes: GpuTensor,
  zeros: GpuTensor,
  scales: GpuTensor,
  gIdx: GpuTensor,
  b: GpuTensor | null,
  bits: number,
  N: number,
  K: number,
  round = 0,
): GpuTensor {
  const [T, K2] = rowsCols(x);
  if (K2 !== K) throw new Error(`matmulPacked: x has ${K2} columns, the layer ${K} inputs`);
  const bad = packedShapeError(codes, scales, gIdx, bits, N, K);
  if (bad) throw new Error(`matmulPacked: ${bad}`);
  if (T > 4) {
    const W = packedDequant(gpu, codes, zeros, scales, gIdx, bits, N, K, round);
    const y = matmul(gpu, x, W, b);
    gpu.release(W);
    return y;
  }
  const y = gpu.tensor([...x.shape.slice(0, -1), N], 'f32', 'matmulPacked.y');
  const constants = {
    S_FORMAT: FORMAT[scales.dtype],
    W_ROUND: round,
    HAS_BIAS: b ? 1 : 0,
    ROWS: 4,
    WORDWISE: 32 % bits === 0 ? 1 : 0,
    // the summation order of the dense matmul this adapter runs (see matmul above)
    DOT4: gpu.variant('matmul') === 'direct' && K % 4 === 0 ? 1 : 0,
  };
  gpu.dispatch(
    gpu.pipeline('matmulPacked', 'gemv', constants),
    [x, codes, zeros, scales, gIdx, b ?? x, y],
    [{ u32: T }, { u32: N }, { u32: K }, { u32: bits }, { u32: Math.ceil((N * bits) / 32) }],
    [Math.ceil(N / KERNELS.matmulPacked.workgroups.gemv[0]), 1],
  );
  return y;
}

/** y[t] = E[ids[t] − v0] for the ids E's rows hold; into `out` (a row chunk of a larger matrix) or a new tensor. */
export function embed(gpu: Gpu, E: GpuTensor, ids: GpuTensor, out: GpuTensor | null = null, v0 = 0): GpuTensor {
  const [rows, C] = E.shape;
  const T = ids.size;
  const y = out ?? gpu.tensor([T, C], 'f32', 'embed.y');
  gpu.dispatch(
    gpu.pipeline('embed', 'main', { E_FORMAT: FORMAT[E.dtype] }),
    [E, ids, y],
    [{ u32: T }, { u32: C }, { u32: v0 }, { u32: v0 + rows }],
    flat(gpu, T * C, KERNELS.embed.workgroups.main[0]),
  );
  return y;
}

/** perm (optional): output channel c takes input channel perm[c]; g and b are given in output order. */
export function layerNorm(
  gpu: Gpu,
  x: GpuTensor,
  g: GpuTensor,
  b: GpuTensor,
  eps: number,
  perm: GpuTensor | null = null,
): GpuTensor {
  const [T, C] = rowsCols(x);
  const y = gpu.tensor(x.shape, 'f32', 'layerNorm.y');
  gpu.dispatch(
    gpu.pipeline('layerNorm', 'main', { PERMUTED: perm ? 1 : 0 }),
    [x, g, b, perm ?? g, y],
    [{ u32: T }, { u32: C }, { f32: eps }],
    [Math.ceil(T / KERNELS.layerNorm.workgroups.main[0])],
  );
  return y;
}

/** perm (optional): output channel c takes input channel perm[c]; g is given in output order. */
export function rmsNorm(gpu: Gpu, x: GpuTensor, g: GpuTensor, eps: number, perm: GpuTensor | null = null): GpuTensor {
  const [T, C] = rowsCols(x);
  const y = gpu.tensor(x.shape, 'f32', 'rmsNorm.y');
  gpu.dispatch(
    gpu.pipeline('rmsNorm', 'main', { PERMUTED: perm ? 1 : 0 }),
    [x, g, perm ?? g, y],
    [{ u32: T }, { u32: C }, { f32: eps }],
    [Math.ceil(T / KERNELS.rmsNorm.workgroups.main[0])],
  );
  return y;
}

/** In place on x [T, H·D]; cos/sin are [positions, D/2]. */
/** layout (packed token trees, [T, 4] u32): each token's position is its 4th value, not pos0 + t. */
export function rope(
  gpu: Gpu,
  cos: GpuTensor,
  sin: GpuTensor,
  x: GpuTensor,
  H: number,
  D: number,
  pos0 = 0,
  layout: GpuTensor | null = null,
): void {
  const T = x.size / (H * D);
  const params = [{ u32: T }, { u32: H }, { u32: D }, { u32: pos0 }];
  const wg = KERNELS.rope.workgroups;
  if (layout) {
    gpu.dispatch(
      gpu.pipeline('rope', 'packed'),
      [cos, sin, x, layout],
      params,
      flat(gpu, (T * H * D) / 2, wg.packed[0]),
    );
    return;
  }
  if ((pos0 + T) * (D / 2) > cos.size) throw new Error(`rope: positions up to ${pos0 + T} exceed the table`);
  gpu.dispatch(gpu.pipeline('rope'), [cos, sin, x], params, flat(gpu, (T * H * D) / 2, wg.main[0]));
}

/** probLevels > 0: softmax probabilities rounded to round(p·L)/L; layout: query t sees keys [x, y) then [z, t]. */
export function attention(
  gpu: Gpu,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  H: number,
  HKV: number,
  D: number,
  scale: number,
  probLevels = 0,
  layout: GpuTensor | null = null,
): GpuTensor {
  const T = q.size / (H * D);
  const { workgroups: wg, consts } = KERNELS.attention;
  if (D > consts.MAX_D) throw new Error(`attention: head dimension ${D} is above the kernel's ${consts.MAX_D}`);
  const o = gpu.tensor(q.shape, 'f32', 'attention.o');
  const params = [{ u32: T }, { u32: H }, { u32: HKV }, { u32: D }, { f32: scale }];
  // one thread per query, a workgroup's queries in x, heads in y
  if (layout) {
    gpu.dispatch(gpu.pipeline('attention', 'packed', { PROB_LEVELS: probLevels }), [q, k, v, o, layout], params, [
      Math.ceil(T / wg.packed[0]),
      H,
    ]);
    return o;
  }
  // K and V tiles of BK keys each fit 4 KiB of workgroup memory
  const BK = Math.max(1, Math.floor(1024 / D));
  if (gpu.variant('attention') === 'direct' && D % 4 === 0) {
    gpu.dispatch(gpu.pipeline('attention', 'direct', { PROB_LEVELS: probLevels, D4: D / 4 }), [q, k, v, o], params, [
      Math.ceil(T / (4 * wg.direct[0])),
      H,
    ]);
    return o;
  }
  gpu.dispatch(gpu.pipeline('attention', 'main', { BK, TILE: BK * D, PROB_LEVELS: probLevels }), [q, k, v, o], params, [
    Math.ceil(T / wg.main[0]),
    H,
  ]);
  return o;
}

/** In place on x [T, C]: static fake-quant with the (scale, zero) of each channel's cluster (RPTQ). */
export function actQuant(gpu: Gpu, x: GpuTensor, q: ActQuant<GpuTensor>): void {
  const C = q.cluster.size;
  gpu.dispatch(
    gpu.pipeline('actQuant'),
    [q.cluster, q.params, x],
    [{ u32: x.size }, { u32: C }, { f32: q.maxq }],
    flat(gpu, x.size, KERNELS.actQuant.workgroups.main[0]),
  );
}

export function relu(gpu: Gpu, y: GpuTensor): void {
  const wg = KERNELS.relu.workgroups.relu[0];
  gpu.dispatch(gpu.pipeline('activation', 'relu'), [y], [{ u32: y.size }], flat(gpu, y.size, wg));
}

export function gelu(gpu: Gpu, y: GpuTensor): void {
  const wg = KERNELS.gelu.workgroups.gelu[0];
  gpu.dispatch(gpu.pipeline('activation', 'gelu'), [y], [{ u32: y.size }], flat(gpu, y.size, wg));
}

export function siluMul(gpu: Gpu, gate: GpuTensor, up: GpuTensor): GpuTensor {
  const out = gpu.tensor(gate.shape, 'f32', 'siluMul.out');
  const wg = KERNELS.siluMul.workgroups.siluMul[0];
  gpu.dispatch(gpu.pipeline('activation', 'siluMul'), [gate, up, out], [{ u32: gate.size }], flat(gpu, gate.size, wg));
  return out;
}

/** In place: h += d. */
export function add(gpu: Gpu, d: GpuTensor, h: GpuTensor): void {
  gpu.dispatch(gpu.pipeline('add'), [d, h], [{ u32: h.size }], flat(gpu, h.size, KERNELS.add.workgroups.main[0]));
}

/** In place: folds logits [N, Vc] of vocabulary columns [v0, v0 + Vc) into state [N, 4] (online log-sum-exp). */
export function vocabChunk(gpu: Gpu, logits: GpuTensor, targets: GpuTensor, state: GpuTensor, v0: number): void {
  const [N, V] = rowsCols(logits);
  // one workgroup per row, whatever its size
  gpu.dispatch(
    gpu.pipeline('loglikelihood', 'vocabChunk'),
    [logits, targets, state],
    [{ u32: N }, { u32: V }, { u32: v0 }],
    flat(gpu, N, 1),
  );
}

/**
 * In place: rows [offset, offset + N) of scores [rows, 2] ← (log p(target), target is the argmax) from state [N, 4].
 */
export function finishScores(gpu: Gpu, state: GpuTensor, targets: GpuTensor, scores: GpuTensor, offset: number): void {
  const N = targets.size;
  if ((offset + N) * 2 > scores.size)
    throw new Error(`finishScores: rows up to ${offset + N} exceed the scores tensor`);
  gpu.dispatch(
    gpu.pipeline('loglikelihood', 'finish'),
    [state, targets, scores],
    [{ u32: N }, { u32: offset }],
    [Math.ceil(N / KERNELS.finishScores.workgroups.finish[0])],
  );
}

/** Per request (rows [starts[r], starts[r + 1])): (Σ log p, 1 when every row is greedy), [R, 2]. */
export function requestSums(gpu: Gpu, scores: GpuTensor, starts: GpuTensor): GpuTensor {
  const R = starts.size - 1;
  const out = gpu.tensor([R, 2], 'f32', 'requestSums.out');
  gpu.dispatch(
    gpu.pipeline('loglikelihood', 'requestSums'),
    [scores, starts, out],
    [{ u32: R }],
    [Math.ceil(R / KERNELS.requestSums.workgroups.requestSums[0])],
  );
  return out;
}

/** Number of NaN/Inf values in x. */
export async function countNonFinite(gpu: Gpu, x: GpuTensor): Promise<number> {
  const count = gpu.upload(new Uint32Array(1), [1], 'countNonFinite.count');
  const wg = KERNELS.countNonFinite.workgroups.main[0];
  gpu.dispatch(gpu.pipeline('countNonFinite'), [x, count], [{ u32: x.size }], flat(gpu, x.size, wg));
  const n = (await gpu.readU32(count))[0];
  gpu.release(count);
  return n;
}

// ---- quantization kernels ------------------------------------------------------------------------------------------

/** In place: H ← alpha·H + beta·XᵀX (GPTQ's running Hessian). */
export function hessian(gpu: Gpu, X: GpuTensor, H: GpuTensor, alpha: number, beta: number): void {
  const [T, K] = rowsCols(X);
  // every thread owns a 4 × 4 block of H
  const wg = KERNELS.hessian.workgroups.main;
  gpu.dispatch(
    gpu.pipeline('hessian'),
    [X, H],
    [{ u32: T }, { u32: K }, { f32: alpha }, { f32: beta }],
    [Math.ceil(K / (4 * wg[0])), Math.ceil(K / (4 * wg[1]))],
  );
}

function quantUniforms(
  R: number,
  K: number,
  grid: QuantGrid,
  firstGroup: number,
  numGroups: number,
  totalGroups: number,
) {
  return [
    { u32: R },
    { u32: K },
    { u32: grid.groupsize },
    { u32: firstGroup },
    { u32: numGroups },
    { u32: totalGroups },
    { f32: grid.maxq },
    { u32: grid.sym ? 1 : 0 },
  ];
}

/** Fits (scale, zero) of groups [firstGroup, firstGroup + numGroups) of every row into params [R, totalGroups, 2]. */
export function quantParams(
  gpu: Gpu,
  W: GpuTensor,
  params: GpuTensor,
  grid: QuantGrid,
  firstGroup: number,
  numGroups: number,
): void {
  const [R, K] = W.shape;
  const totalGroups = params.size / (2 * R);
  gpu.dispatch(
    gpu.pipeline('fakeQuant', 'quantParams'),
    [W, params],
    quantUniforms(R, K, grid, firstGroup, numGroups, totalGroups),
    [Math.ceil((R * numGroups) / KERNELS.quantParams.workgroups.quantParams[0])],
  );
}

/** Ŵ = dequant(quant(W)) with each column's group parameters. */
export function fakeQuant(gpu: Gpu, W: GpuTensor, params: GpuTensor, colGroup: GpuTensor, grid: QuantGrid): GpuTensor {
  const [R, K] = W.shape;
  const totalGroups = params.size / (2 * R);
  const Q = gpu.tensor([R, K], 'f32', 'fakeQuant.Q');
  gpu.dispatch(
    gpu.pipeline('fakeQuant', 'fakeQuant'),
    [W, params, colGroup, Q],
    quantUniforms(R, K, grid, 0, 0, totalGroups),
    flat(gpu, R * K, KERNELS.fakeQuant.workgroups.fakeQuant[0]),
  );
  return Q;
}

/** GPTQ's column loop over columns [i1, i1 + count): writes Q's columns and the block's errors Err [R, 128]. */
export function gptqBlock(
  gpu: Gpu,
  U: GpuTensor,
  W: GpuTensor,
  params: GpuTensor,
  colGroup: GpuTensor,
  Q: GpuTensor,
  Err: GpuTensor,
  i1: number,
  count: number,
  maxq: number,
): void {
  const [R, K] = W.shape;
  if (count > GPTQ_BLOCK) throw new Error(`gptqBlock: blocks are at most ${GPTQ_BLOCK} columns`);
  const totalGroups = params.size / (2 * R);
  gpu.dispatch(
    gpu.pipeline('gptqBlock'),
    [U, W, params, colGroup, Q, Err],
    [{ u32: R }, { u32: K }, { u32: i1 }, { u32: count }, { u32: totalGroups }, { f32: maxq }],
    [Math.ceil(R / KERNELS.gptqBlock.workgroups.main[0])],
  );
}

/** W[:, i1+count:] −= Err · U[i1:i1+count, i1+count:] */
export function gptqUpdate(gpu: Gpu, U: GpuTensor, Err: GpuTensor, W: GpuTensor, i1: number, count: number): void {
  const [R, K] = W.shape;
  const rest = K - (i1 + count);
  if (rest <= 0) return;
  // every thread updates 4 columns of one row
  const wg = KERNELS.gptqUpdate.workgroups.main;
  gpu.dispatch(
    gpu.pipeline('gptqUpdate'),
    [U, Err, W],
    [{ u32: R }, { u32: K }, { u32: i1 }, { u32: count }],
    [Math.ceil(rest / (4 * wg[0])), Math.ceil(R / wg[1])],
  );
}

/** Per-row (Σ (yq − y)², Σ y²) of two [T, N] outputs: [T, 2]. */
export function outputError(gpu: Gpu, yq: GpuTensor, y: GpuTensor): GpuTensor {
  const [T, N] = rowsCols(y);
  const err = gpu.tensor([T, 2], 'f32', 'outputError');
  gpu.dispatch(
    gpu.pipeline('outputError'),
    [yq, y, err],
    [{ u32: T }, { u32: N }],
    [Math.ceil(T / KERNELS.outputError.workgroups.main[0])],
  );
  return err;
}

// ---- activation statistics and clustering (RPTQ) -------------------------------------------------------------------

/** In place: range [C, 2] ← per-channel (min, max) including X [T, C]. Start from (+inf, −inf). */
export function channelRange(gpu: Gpu, X: GpuTensor, range: GpuTensor): void {
  const [T, C] = rowsCols(X);
  gpu.dispatch(
    gpu.pipeline('channelRange'),
    [X, range],
    [{ u32: T }, { u32: C }],
    [Math.ceil(C / KERNELS.channelRange.workgroups.main[0])],
  );
}

/** label [N] (u32) and dist [N] of points P [N, 4] against centroids M [N/seg · K, 4]: segment s of `seg` points
 * owns centroids [s·K, s·K + K); labels are global centroid indices. */
export function kmeansAssign(
  gpu: Gpu,
  P: GpuTensor,
  M: GpuTensor,
  label: GpuTensor,
  dist: GpuTensor,
  K: number,
  seg: number,
): void {
  const N = P.size / 4;
  gpu.dispatch(
    gpu.pipeline('kmeans', 'kmeansAssign'),
    [P, M, label, dist],
    [{ u32: N }, { u32: K }, { u32: seg }],
    [Math.ceil(N / KERNELS.kmeansAssign.workgroups.kmeansAssign[0])],
  );
}

/** In place: M [N/seg · K, 4] ← the mean of the points labelled with each centroid. */
export function kmeansUpdate(gpu: Gpu, P: GpuTensor, label: GpuTensor, M: GpuTensor, K: number, seg: number): void {
  gpu.dispatch(
    gpu.pipeline('kmeans', 'kmeansUpdate'),
    [P, label, M],
    [{ u32: P.size / 4 }, { u32: K }, { u32: seg }],
    [Math.ceil(M.size / 4 / KERNELS.kmeansUpdate.workgroups.kmeansUpdate[0])],
  );
}

// ---- per-token quantization and block rotations (DuQuant) ----------------------------------------------------------

/** In place on x viewed as [rows, G]: per-row dynamic asymmetric fake-quant from the row's min and max times lac. */
export function tokenQuant(gpu: Gpu, x: GpuTensor, G: number, maxq: number, lac: number): void {
  const rows = x.size / G;
  gpu.dispatch(
    gpu.pipeline('tokenQuant'),
    [x],
    [{ u32: rows }, { u32: G }, { f32: maxq }, { f32: lac }],
    flat(gpu, rows, KERNELS.tokenQuant.workgroups.main[0]),
  );
}

/** y [T, C] = x (gathered by perm when given) times the block-diagonal R: [blocks or 1, n, n] (one shared matrix). */
export function blockRotate(gpu: Gpu, x: GpuTensor, R: GpuTensor, n: number, perm: GpuTensor | null = null): GpuTensor {
  const [T, C] = rowsCols(x);
  if (C % n !== 0) throw new Error(`blockRotate: block size ${n} does not divide the width ${C}`);
  const perBlock = R.size === C * n ? 1 : 0;
  if (!perBlock && R.size !== n * n)
    throw new Error(`blockRotate: R has ${R.size} values, neither one ${n} × ${n} matrix nor ${C / n} of them`);
  const y = gpu.tensor(x.shape, 'f32', 'blockRotate.y');
  gpu.dispatch(
    gpu.pipeline('blockRotate', 'main', { PERMUTED: perm ? 1 : 0 }),
    [x, R, perm ?? R, y],
    [{ u32: T }, { u32: C }, { u32: n }, { u32: perBlock }],
    flat(gpu, T * C, KERNELS.blockRotate.workgroups.main[0]),
  );
  return y;
}

/**
 * One greedy-rotation step's pick: peaks[step] ← max − min of W; with record, chans[step] ← the step's channel.
 */
export function greedyPick(
  gpu: Gpu,
  W: GpuTensor,
  peaks: GpuTensor,
  chans: GpuTensor,
  step: number,
  n: number,
  record: boolean,
  refExchange: boolean,
): void {
  // one workgroup reduces all of W, whatever its size
  gpu.dispatch(
    gpu.pipeline('greedyRotation', 'greedyPick'),
    [W, peaks, chans],
    [{ u32: W.size }, { u32: n }, { u32: step }, { u32: record ? 1 : 0 }, { u32: refExchange ? 1 : 0 }],
    [1],
  );
}

/** y [rows, n] = X · P_c·A·P_c with c = chans[step]. */
export function greedyApply(
  gpu: Gpu,
  X: GpuTensor,
  A: GpuTensor,
  chans: GpuTensor,
  step: number,
  n: number,
): GpuTensor {
  if (X.size % n !== 0 || A.size !== n * n)
    throw new Error(`greedyApply: ${X.size} values are not rows of ${n}, or A is not ${n} × ${n}`);
  const rows = X.size / n;
  const y = gpu.tensor([rows, n], 'f32', 'greedyApply.y');
  gpu.dispatch(
    gpu.pipeline('greedyRotation', 'greedyApply'),
    [X, A, chans, y],
    [{ u32: rows }, { u32: n }, { u32: step }],
    flat(gpu, rows * n, KERNELS.greedyApply.workgroups.greedyApply[0]),
  );
  return y;
}

// ---- CLAQ -----------------------------------------------------------------------------------------------------------

/**
 * CLAQ's column loop over columns [i1, i1 + count), in one workgroup: Q's columns, Err [R, 128], book [K, 20], Wfit;
 * scratch [R] is the kernel's working memory.
 */
export function claqBlock(
  gpu: Gpu,
  U: GpuTensor,
  W: GpuTensor,
  colInfo: GpuTensor,
  Q: GpuTensor,
  Err: GpuTensor,
  book: GpuTensor,
  Wfit: GpuTensor,
  scratch: GpuTensor,
  i1: number,
  count: number,
  seed: number,
  maxIter: number,
  fit: boolean,
): void {
  const [R, K] = W.shape;
  if (count > GPTQ_BLOCK) throw new Error(`claqBlock: blocks are at most ${GPTQ_BLOCK} columns`);
  if (scratch.size < R || book.size < K * CLAQ_BOOK || colInfo.size < K * 4)
    throw new Error('claqBlock: scratch, book or colInfo is too small for the layer');
  gpu.dispatch(
    gpu.pipeline('claqBlock', 'claqBlock'),
    [U, W, colInfo, Q, Err, book, Wfit, scratch],
    [
      { u32: R },
      { u32: K },
      { u32: i1 },
      { u32: count },
      { u32: seed >>> 0 },
      { u32: maxIter },
      { u32: fit ? 1 : 0 },
      { u32: 0 },
    ],
    [1],
  );
}

// ---- GPTQ's factorization (cholesky.wgsl) ---------------------------------------------------------------------------

/**
 * One step of the blocked factorization on A [n, n] (and X, L⁻¹), block [k0, k0 + b); potrf records a bad pivot in
 * flag.
 */
export function factorStep(
  gpu: Gpu,
  step: FactorStep,
  A: GpuTensor,
  X: GpuTensor,
  flag: GpuTensor,
  n: number,
  k0: number,
  b: number,
): void {
  const params = [{ u32: n }, { u32: k0 }, { u32: b }];
  const rest = n - k0 - b;
  const pipe = gpu.pipeline('cholesky', step);
  const wg = KERNELS.factorStep.workgroups;
  switch (step) {
    case 'potrf': // one workgroup factors the diagonal block
      return gpu.dispatch(pipe, [A, flag], params, [1]);
    case 'trsm':
      return gpu.dispatch(pipe, [A], params, [Math.ceil(rest / wg.trsm[0])]);
    case 'syrk':
      return gpu.dispatch(pipe, [A], params, [Math.ceil(rest / wg.syrk[0]), Math.ceil(rest / wg.syrk[1])]);
    case 'trinvGemm':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil(k0 / wg.trinvGemm[0]), Math.ceil(b / wg.trinvGemm[1])]);
    case 'trinvSolve':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil((k0 + b) / wg.trinvSolve[0])]);
    case 'reverse':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil(n / wg.reverse[0]), Math.ceil(n / wg.reverse[1])]);
  }
}

// ---- GPTQ checkpoints (gptqDequant.wgsl) ----------------------------------------------------------------------------

/** W [N, K] f32 from one GPTQ-v1 layer: qweight, qzeros and g_idx as u32, scales [G, N] in 16-bit (or f32) storage. */
export function gptqDequant(
  gpu: Gpu,
  qweight: GpuTensor,
  qzeros: GpuTensor,
  scales: GpuTensor,
  gIdx: GpuTensor,
  bits: number,
  N: number,
  K: number,
  G: number,
): GpuTensor {
  const bad = gptqShapeError(
    { qweight: qweight.size, qzeros: qzeros.size, scales: scales.size, gIdx: gIdx.size },
    bits,
    N,
    K,
    G,
  );
  if (bad) throw new Error(`gptqDequant: ${bad}`);
  const W = gpu.tensor([N, K], 'f32', 'gptqDequant.W');
  gpu.dispatch(
    gpu.pipeline('gptqDequant', 'main', { S_FORMAT: FORMAT[scales.dtype] }),
    [qweight, qzeros, scales, gIdx, W],
    [{ u32: N }, { u32: K }, { u32: bits }],
    flat(gpu, N * K, KERNELS.gptqDequant.workgroups.main[0]),
  );
  return W;
}

// ---- training: a decoder block's backward pass (learnable weight clipping), the optimizer, the loss ----------------

/** dX [T, K] = dY [T, N] · W [N, K] (f32 W). */
export function matmulGradX(gpu: Gpu, dY: GpuTensor, W: GpuTensor): GpuTensor {
  const [T, N] = rowsCols(dY);
  const [N2, K] = W.shape;
  if (N !== N2) throw new Error(`matmulGradX: dY has ${N} columns, W is [${W.shape}]`);
  if (W.dtype !== 'f32') throw new Error(`matmulGradX: W is ${W.dtype}; the gradient kernels read f32 weights`);
  const dX = gpu.tensor([...dY.shape.slice(0, -1), K], 'f32', 'matmulGradX.dX');
  const wg = KERNELS.matmulGradX.workgroups.gradX;
  gpu.dispatch(
    gpu.pipeline('matmulGrad', 'gradX'),
    [dY, W, dX],
    [{ u32: T }, { u32: N }, { u32: K }],
    [Math.ceil(K / wg[0]), Math.ceil(T / wg[1])],
  );
  return dX;
}

/** dW [N, K] = dY [T, N]ᵀ · X [T, K]. */
export function matmulGradW(gpu: Gpu, dY: GpuTensor, X: GpuTensor): GpuTensor {
  const [T, N] = rowsCols(dY);
  const [T2, K] = rowsCols(X);
  if (T !== T2) throw new Error(`matmulGradW: dY has ${T} rows, X has ${T2}`);
  const dW = gpu.tensor([N, K], 'f32', 'matmulGradW.dW');
  const wg = KERNELS.matmulGradW.workgroups.gradW;
  gpu.dispatch(
    gpu.pipeline('matmulGrad', 'gradW'),
    [dY, X, dW],
    [{ u32: T }, { u32: N }, { u32: K }],
    [Math.ceil(K / wg[0]), Math.ceil(N / wg[1])],
  );
  return dW;
}

/** one thread per row: normGrad.wgsl's rmsNormGrad or layerNormGrad, with the entry's workgroup size */
function normGrad(gpu: Gpu, entry: string, wg: number, x: GpuTensor, g: GpuTensor, dy: GpuTensor, eps: number) {
  const [T, C] = rowsCols(x);
  const dx = gpu.tensor(x.shape, 'f32', `${entry}.dx`);
  gpu.dispatch(
    gpu.pipeline('normGrad', entry),
    [x, g, dy, dx],
    [{ u32: T }, { u32: C }, { f32: eps }],
    [Math.ceil(T / wg)],
  );
  return dx;
}

/** dx of rmsNorm (no permutation), per row. */
export function rmsNormGrad(gpu: Gpu, x: GpuTensor, g: GpuTensor, dy: GpuTensor, eps: number): GpuTensor {
  return normGrad(gpu, 'rmsNormGrad', KERNELS.rmsNormGrad.workgroups.rmsNormGrad[0], x, g, dy, eps);
}

/** dx of layerNorm (no permutation), per row. */
export function layerNormGrad(gpu: Gpu, x: GpuTensor, g: GpuTensor, dy: GpuTensor, eps: number): GpuTensor {
  return normGrad(gpu, 'layerNormGrad', KERNELS.layerNormGrad.workgroups.layerNormGrad[0], x, g, dy, eps);
}

/** In place on dx [T, H·D]: the adjoint of rope at positions 0..T−1. */
export function ropeGrad(gpu: Gpu, cos: GpuTensor, sin: GpuTensor, dx: GpuTensor, H: number, D: number): void {
  const T = dx.size / (H * D);
  if (T * (D / 2) > cos.size) throw new Error(`ropeGrad: positions up to ${T} exceed the table`);
  gpu.dispatch(
    gpu.pipeline('rope', 'grad'),
    [cos, sin, dx],
    [{ u32: T }, { u32: H }, { u32: D }, { u32: 0 }],
    flat(gpu, (T * H * D) / 2, KERNELS.ropeGrad.workgroups.grad[0]),
  );
}

/** dq, dk, dv of causal grouped-query attention (full-precision probabilities, no layout). */
export function attentionGrad(
  gpu: Gpu,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  dO: GpuTensor,
  H: number,
  HKV: number,
  D: number,
  scale: number,
): { dq: GpuTensor; dk: GpuTensor; dv: GpuTensor } {
  const T = q.size / (H * D);
  const { workgroups: wg, consts } = KERNELS.attentionGrad;
  if (D > consts.MAX_D) throw new Error(`attentionGrad: head dimension ${D} is above the kernel's ${consts.MAX_D}`);
  const params = [{ u32: T }, { u32: H }, { u32: HKV }, { u32: D }, { f32: scale }];
  const dq = gpu.tensor(q.shape, 'f32', 'attentionGrad.dq');
  const dk = gpu.tensor(k.shape, 'f32', 'attentionGrad.dk');
  const dv = gpu.tensor(v.shape, 'f32', 'attentionGrad.dv');
  // each (query, head)'s log-sum-exp and dO·o, from the dq pass to the dk/dv pass
  const stats = gpu.tensor([T * H, 2], 'f32', 'attentionGrad.stats');
  gpu.dispatch(gpu.pipeline('attentionGrad', 'dq'), [q, k, v, dO, dq, stats], params, [Math.ceil(T / wg.dq[0]), H]);
  gpu.dispatch(gpu.pipeline('attentionGrad', 'dkv'), [q, k, v, dO, stats, dk, dv], params, [
    Math.ceil(T / wg.dkv[0]),
    HKV,
  ]);
  gpu.release(stats);
  return { dq, dk, dv };
}

/** In place: dy ← dy·(y > 0). */
export function reluGrad(gpu: Gpu, y: GpuTensor, dy: GpuTensor): void {
  const wg = KERNELS.reluGrad.workgroups.reluGrad[0];
  gpu.dispatch(gpu.pipeline('activation', 'reluGrad'), [y, dy], [{ u32: dy.size }], flat(gpu, dy.size, wg));
}

/** In place: dy ← dy·gelu′(x). */
export function geluGrad(gpu: Gpu, x: GpuTensor, dy: GpuTensor): void {
  const wg = KERNELS.geluGrad.workgroups.geluGrad[0];
  gpu.dispatch(gpu.pipeline('activation', 'geluGrad'), [x, dy], [{ u32: dy.size }], flat(gpu, dy.size, wg));
}

export function siluMulGrad(
  gpu: Gpu,
  gate: GpuTensor,
  up: GpuTensor,
  d: GpuTensor,
): { dGate: GpuTensor; dUp: GpuTensor } {
  const dGate = gpu.tensor(gate.shape, 'f32', 'siluMulGrad.dGate');
  const dUp = gpu.tensor(up.shape, 'f32', 'siluMulGrad.dUp');
  const wg = KERNELS.siluMulGrad.workgroups.siluMulGrad[0];
  gpu.dispatch(
    gpu.pipeline('activation', 'siluMulGrad'),
    [gate, up, d, dGate, dUp],
    [{ u32: gate.size }],
    flat(gpu, gate.size, wg),
  );
  return { dGate, dUp };
}

/** dx [T, C]: the adjoint of blockRotate; perm (when given) must be a permutation. */
export function blockRotateGrad(gpu: Gpu, dy: GpuTensor, R: GpuTensor, n: number, perm: GpuTensor | null): GpuTensor {
  const [T, C] = rowsCols(dy);
  if (C % n !== 0) throw new Error(`blockRotateGrad: block size ${n} does not divide the width ${C}`);
  const perBlock = R.size === C * n ? 1 : 0;
  if (!perBlock && R.size !== n * n)
    throw new Error(`blockRotateGrad: R has ${R.size} values, neither one ${n} × ${n} matrix nor ${C / n}`);
  const dx = gpu.tensor(dy.shape, 'f32', 'blockRotateGrad.dx');
  gpu.dispatch(
    gpu.pipeline('blockRotate', 'grad', { PERMUTED: perm ? 1 : 0 }),
    [dy, R, perm ?? R, dx],
    [{ u32: T }, { u32: C }, { u32: n }, { u32: perBlock }],
    flat(gpu, T * C, KERNELS.blockRotateGrad.workgroups.grad[0]),
  );
  return dx;
}

/** One torch.optim.AdamW step in place on p, m, v (step ≥ 1). */
export function adamW(
  gpu: Gpu,
  p: GpuTensor,
  g: GpuTensor,
  m: GpuTensor,
  v: GpuTensor,
  step: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
): void {
  const s = ref.adamWScalars(step, lr, beta1, beta2, wd);
  gpu.dispatch(
    gpu.pipeline('adamW'),
    [g, p, m, v],
    [
      { u32: p.size },
      { f32: s.decay },
      { f32: beta1 },
      { f32: beta2 },
      { f32: s.oneMinusBeta1 },
      { f32: s.oneMinusBeta2 },
      { f32: s.stepSize },
      { f32: s.bc2Sqrt },
      { f32: eps },
    ],
    flat(gpu, p.size, KERNELS.adamW.workgroups.main[0]),
  );
}

/** loss [1] = mean((pred − target)²) (one workgroup, compensated), grad = 2·(pred − target)/numel. */
export function mseGrad(gpu: Gpu, pred: GpuTensor, target: GpuTensor): { loss: GpuTensor; grad: GpuTensor } {
  const n = pred.size;
  if (target.size !== n) throw new Error(`mseGrad: pred has ${n} values, target ${target.size}`);
  const loss = gpu.tensor([1], 'f32', 'mseGrad.loss');
  const grad = gpu.tensor(pred.shape, 'f32', 'mseGrad.grad');
  const params = [{ u32: n }, { f32: 2 / n }];
  gpu.dispatch(
    gpu.pipeline('mseGrad', 'grad'),
    [pred, target, grad],
    params,
    flat(gpu, n, KERNELS.mseGrad.workgroups.grad[0]),
  );
  // one workgroup sums every element, whatever n
  gpu.dispatch(gpu.pipeline('mseGrad', 'loss'), [pred, target, loss], params, [1]);
  return { loss, grad };
}

// ---- straight-through fake-quant (learnable weight clipping) --------------------------------------------------------

/** one dispatch of steQuant.wgsl: one thread per row group, five bindings whatever the entry uses */
function steQuant(
  gpu: Gpu,
  entry: 'lwcQuant' | 'lwcGrad' | 'tokenQuantGrad',
  x: GpuTensor,
  aux: GpuTensor,
  upstream: GpuTensor,
  out: GpuTensor,
  groups: number,
  g: number,
  maxq: number,
  lac: number,
): void {
  gpu.dispatch(
    gpu.pipeline('steQuant', entry),
    [x, aux, upstream, out],
    [{ u32: groups }, { u32: g }, { f32: maxq }, { f32: lac }],
    flat(gpu, groups, (KERNELS[entry].workgroups as Record<string, readonly number[]>)[entry][0]),
  );
}

function lwcShape(W: GpuTensor, bounds: GpuTensor, g: number): [number, number] {
  const [R, K] = W.shape;
  if (K % g !== 0) throw new Error(`lwc: group size ${g} does not divide the width ${K}`);
  if (bounds.size !== (R * K * 2) / g)
    throw new Error(`lwc: bounds has ${bounds.size} values, [${R}, ${K / g}, 2] expected`);
  return [R, K];
}

/** Ŵ [R, K] of W on each (row, group of g columns)'s learnable clip bounds [R, K/g, 2]. */
export function lwcQuant(gpu: Gpu, W: GpuTensor, bounds: GpuTensor, g: number, maxq: number): GpuTensor {
  const [R, K] = lwcShape(W, bounds, g);
  const Q = gpu.tensor([R, K], 'f32', 'lwcQuant.Q');
  steQuant(gpu, 'lwcQuant', W, bounds, bounds, Q, (R * K) / g, g, maxq, 1);
  return Q;
}

/** d(up), d(low) [R, K/g, 2] from dQ [R, K], the gradient with respect to lwcQuant's output. */
export function lwcGrad(gpu: Gpu, W: GpuTensor, bounds: GpuTensor, dQ: GpuTensor, g: number, maxq: number): GpuTensor {
  const [R, K] = lwcShape(W, bounds, g);
  const dB = gpu.tensor([(R * K) / g, 2], 'f32', 'lwcGrad.dB');
  steQuant(gpu, 'lwcGrad', W, bounds, dQ, dB, (R * K) / g, g, maxq, 1);
  return dB;
}

/** dx [rows, G] of tokenQuant at its input x, given dy. */
export function tokenQuantGrad(gpu: Gpu, x: GpuTensor, dy: GpuTensor, G: number, maxq: number, lac: number): GpuTensor {
  const dx = gpu.tensor(x.shape, 'f32', 'tokenQuantGrad.dx');
  steQuant(gpu, 'tokenQuantGrad', x, dy, dy, dx, x.size / G, G, maxq, lac);
  return dx;
}

// ---- the table ------------------------------------------------------------------------------------------------------

export const KERNELS = table({
  // the forward pass (and every method)
  matmul: {
    group: 'core',
    shader: 'matmul',
    workgroups: { main: [16, 16], direct: [8, 8], direct4: [8, 8], direct4h: [8, 8] },
    op: matmul,
    twin: ref.matmul,
  },
  embed: { group: 'core', shader: 'embed', workgroups: { main: [256] }, op: embed, twin: ref.embed },
  layerNorm: { group: 'core', shader: 'layerNorm', workgroups: { main: [64] }, op: layerNorm, twin: ref.layerNorm },
  rmsNorm: { group: 'core', shader: 'rmsNorm', workgroups: { main: [64] }, op: rmsNorm, twin: ref.rmsNorm },
  rope: { group: 'core', shader: 'rope', workgroups: { main: [256], packed: [256] }, op: rope, twin: ref.rope },
  attention: {
    group: 'core',
    shader: 'attention',
    workgroups: { main: [64], direct: [64], packed: [64] },
    consts: { MAX_D: 256 },
    op: attention,
    twin: ref.attention,
  },
  actQuant: { group: 'core', shader: 'actQuant', workgroups: { main: [64] }, op: actQuant, twin: ref.actQuant },
  tokenQuant: { group: 'core', shader: 'tokenQuant', workgroups: { main: [64] }, op: tokenQuant, twin: ref.tokenQuant },
  blockRotate: {
    group: 'core',
    shader: 'blockRotate',
    workgroups: { main: [64] },
    op: blockRotate,
    twin: ref.blockRotate,
  },
  relu: { group: 'core', shader: 'activation', workgroups: { relu: [256] }, op: relu, twin: ref.relu },
  gelu: { group: 'core', shader: 'activation', workgroups: { gelu: [256] }, op: gelu, twin: ref.gelu },
  siluMul: { group: 'core', shader: 'activation', workgroups: { siluMul: [256] }, op: siluMul, twin: ref.siluMul },
  add: { group: 'core', shader: 'add', workgroups: { main: [256] }, op: add, twin: ref.add },
  vocabChunk: {
    group: 'core',
    shader: 'loglikelihood',
    workgroups: { vocabChunk: [64] },
    op: vocabChunk,
    twin: ref.vocabChunk,
  },
  finishScores: {
    group: 'core',
    shader: 'loglikelihood',
    workgroups: { finish: [64] },
    op: finishScores,
    twin: ref.finishScores,
  },
  requestSums: {
    group: 'core',
    shader: 'loglikelihood',
    workgroups: { requestSums: [64] },
    op: requestSums,
    twin: ref.requestSums,
  },
  countNonFinite: {
    group: 'core',
    shader: 'countNonFinite',
    workgroups: { main: [256] },
    op: countNonFinite,
    twin: ref.countNonFinite,
  },
  pack16: { group: 'core', shader: 'convert', workgroups: { pack16: [256] }, op: pack16, twin: ref.pack16 },
  // quantization, shared by the methods
  quantParams: {
    group: 'core',
    shader: 'fakeQuant',
    workgroups: { quantParams: [64] },
    op: quantParams,
    twin: ref.quantParams,
  },
  fakeQuant: {
    group: 'core',
    shader: 'fakeQuant',
    workgroups: { fakeQuant: [64] },
    op: fakeQuant,
    twin: ref.fakeQuant,
  },
  outputError: {
    group: 'core',
    shader: 'outputError',
    workgroups: { main: [64] },
    op: outputError,
    twin: ref.outputError,
  },
  channelRange: {
    group: 'core',
    shader: 'channelRange',
    workgroups: { main: [64] },
    op: channelRange,
    twin: ref.channelRange,
  },
  // GPTQ: the Hessian, the column loop and its lazy update (CLAQ's too), the factorization
  hessian: { group: 'gptq', shader: 'hessian', workgroups: { main: [8, 8] }, op: hessian, twin: ref.hessian },
  gptqBlock: {
    group: 'gptq',
    shader: 'gptqBlock',
    workgroups: { main: [64] },
    consts: { BLOCK: GPTQ_BLOCK },
    op: gptqBlock,
    twin: ref.gptqBlock,
  },
  gptqUpdate: {
    group: 'gptq',
    shader: 'gptqUpdate',
    workgroups: { main: [8, 8] },
    consts: { BLOCK: GPTQ_BLOCK },
    op: gptqUpdate,
    twin: ref.gptqUpdate,
  },
  factorStep: {
    group: 'gptq',
    shader: 'cholesky',
    workgroups: {
      potrf: [64],
      trsm: [64],
      syrk: [16, 16],
      trinvGemm: [16, 16],
      trinvSolve: [64],
      reverse: [16, 16],
    },
    op: factorStep,
    twin: ref.factorStep,
  },
  // RPTQ's channel clustering
  kmeansAssign: {
    group: 'rptq',
    shader: 'kmeans',
    workgroups: { kmeansAssign: [64] },
    op: kmeansAssign,
    twin: ref.kmeansAssign,
  },
  kmeansUpdate: {
    group: 'rptq',
    shader: 'kmeans',
    workgroups: { kmeansUpdate: [64] },
    op: kmeansUpdate,
    twin: ref.kmeansUpdate,
  },
  // DuQuant's greedy rotation search
  greedyPick: {
    group: 'duquant',
    shader: 'greedyRotation',
    workgroups: { greedyPick: [256] },
    op: greedyPick,
    twin: ref.greedyPick,
  },
  greedyApply: {
    group: 'duquant',
    shader: 'greedyRotation',
    workgroups: { greedyApply: [64] },
    op: greedyApply,
    twin: ref.greedyApply,
  },
  // CLAQ's column loop: the twin mirrors the workgroup's row chunks (WG) and the codebook layout (MAXK, BOOK)
  claqBlock: {
    group: 'claq',
    shader: 'claqBlock',
    workgroups: { claqBlock: [CLAQ_WG] },
    consts: { BLOCK: GPTQ_BLOCK, WG: CLAQ_WG, MAXK: CLAQ_MAXK, BOOK: CLAQ_BOOK },
    op: claqBlock,
    twin: ref.claqBlock,
  },
  // GPTQ checkpoints read back
  matmulPacked: {
    group: 'core',
    shader: 'matmulPacked',
    workgroups: { gemv: [64] },
    op: matmulPacked,
    twin: ref.matmulPacked,
  },
  packedDequant: {
    group: 'core',
    shader: 'packedDequant',
    workgroups: { main: [256] },
    op: packedDequant,
    twin: ref.packedDequant,
  },
  gptqDequant: {
    group: 'checkpoint',
    shader: 'gptqDequant',
    workgroups: { main: [256] },
    op: gptqDequant,
    twin: ref.gptqDequant,
  },
  // training: the backward pass of a block for learnable weight clipping (only the clip parameters learn)
  matmulGradX: {
    group: 'train',
    shader: 'matmulGrad',
    workgroups: { gradX: [16, 16] },
    op: matmulGradX,
    twin: ref.matmulGradX,
  },
  matmulGradW: {
    group: 'train',
    shader: 'matmulGrad',
    workgroups: { gradW: [16, 16] },
    op: matmulGradW,
    twin: ref.matmulGradW,
  },
  rmsNormGrad: {
    group: 'train',
    shader: 'normGrad',
    workgroups: { rmsNormGrad: [64] },
    op: rmsNormGrad,
    twin: ref.rmsNormGrad,
  },
  layerNormGrad: {
    group: 'train',
    shader: 'normGrad',
    workgroups: { layerNormGrad: [64] },
    op: layerNormGrad,
    twin: ref.layerNormGrad,
  },
  ropeGrad: { group: 'train', shader: 'rope', workgroups: { grad: [256] }, op: ropeGrad, twin: ref.ropeGrad },
  attentionGrad: {
    group: 'train',
    shader: 'attentionGrad',
    workgroups: { dq: [64], dkv: [64] },
    consts: { MAX_D: 256 },
    op: attentionGrad,
    twin: ref.attentionGrad,
  },
  reluGrad: {
    group: 'train',
    shader: 'activation',
    workgroups: { reluGrad: [256] },
    op: reluGrad,
    twin: ref.reluGrad,
  },
  geluGrad: {
    group: 'train',
    shader: 'activation',
    workgroups: { geluGrad: [256] },
    op: geluGrad,
    twin: ref.geluGrad,
  },
  siluMulGrad: {
    group: 'train',
    shader: 'activation',
    workgroups: { siluMulGrad: [256] },
    op: siluMulGrad,
    twin: ref.siluMulGrad,
  },
  blockRotateGrad: {
    group: 'train',
    shader: 'blockRotate',
    workgroups: { grad: [64] },
    op: blockRotateGrad,
    twin: ref.blockRotateGrad,
  },
  adamW: { group: 'train', shader: 'adamW', workgroups: { main: [256] }, op: adamW, twin: ref.adamW },
  mseGrad: {
    group: 'train',
    shader: 'mseGrad',
    workgroups: { grad: [256], loss: [256] },
    op: mseGrad,
    twin: ref.mseGrad,
  },
  lwcQuant: { group: 'train', shader: 'steQuant', workgroups: { lwcQuant: [64] }, op: lwcQuant, twin: ref.lwcQuant },
  lwcGrad: { group: 'train', shader: 'steQuant', workgroups: { lwcGrad: [64] }, op: lwcGrad, twin: ref.lwcGrad },
  tokenQuantGrad: {
    group: 'train',
    shader: 'steQuant',
    workgroups: { tokenQuantGrad: [64] },
    op: tokenQuantGrad,
    twin: ref.tokenQuantGrad,
  },
});

export type Kernels = typeof KERNELS;
export type KernelName = keyof Kernels;
