// One function per kernel (shaders/<op>.wgsl), arguments in binding order, outputs allocated here and returned.
// reference.ts holds the CPU twin of each under the same name.
import type { Gpu } from './gpu.ts';
import type { GpuTensor } from './tensor.ts';
import type { Half } from './half.ts';
import { CLAQ_BOOK, GPTQ_BLOCK, gptqShapeError, type QuantGrid } from './reference.ts';

export { GPTQ_BLOCK, type QuantGrid };

/** Workgroups for a flat kernel of n threads (wg per workgroup), folded into y when x would pass the limit. */
function flat(gpu: Gpu, n: number, wg = 256): [number, number] {
  const groups = Math.ceil(n / wg);
  const maxX = gpu.limits.maxComputeWorkgroupsPerDimension;
  return groups <= maxX ? [groups, 1] : [maxX, Math.ceil(groups / maxX)];
}

function rowsCols(t: GpuTensor): [number, number] {
  const C = t.shape[t.shape.length - 1];
  return [t.size / C, C];
}

/** how a weight tensor is stored, as the kernels' W_FORMAT / E_FORMAT constants */
const FORMAT: Record<GpuTensor['dtype'], number> = { f32: 0, u32: 0, f16: 1, bf16: 2 };

/** f32 x as 16-bit weight storage (round to nearest even; twin: half.ts), a new tensor. */
export function pack16(gpu: Gpu, x: GpuTensor, format: Half): GpuTensor {
  const out = gpu.tensor(x.shape, format, 'pack16.out');
  gpu.dispatch(
    gpu.pipeline('convert', 'pack16'),
    [x, out],
    [{ u32: x.size }, { u32: format === 'bf16' ? 1 : 0 }],
    flat(gpu, Math.ceil(x.size / 2)),
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
  if (gpu.variant('matmul') === 'direct') {
    const entry = K % 4 !== 0 ? 'direct' : W.dtype === 'f32' ? 'direct4' : 'direct4h';
    gpu.dispatch(gpu.pipeline('matmul', entry, constants), [x, W, b ?? W, y], params, [
      Math.ceil(N / 32),
      Math.ceil(M / 32),
    ]);
  } else {
    gpu.dispatch(gpu.pipeline('matmul', 'main', constants), [x, W, b ?? W, y], params, [
      Math.ceil(N / 64),
      Math.ceil(M / 64),
    ]);
  }
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
    flat(gpu, T * C),
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
    [Math.ceil(T / 64)],
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
    [Math.ceil(T / 64)],
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
  if (layout) {
    gpu.dispatch(gpu.pipeline('rope', 'packed'), [cos, sin, x, layout], params, flat(gpu, (T * H * D) / 2));
    return;
  }
  if ((pos0 + T) * (D / 2) > cos.size) throw new Error(`rope: positions up to ${pos0 + T} exceed the table`);
  gpu.dispatch(gpu.pipeline('rope'), [cos, sin, x], params, flat(gpu, (T * H * D) / 2));
}

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
  if (D > 256) throw new Error(`attention: head dimension ${D} is above the kernel's 256`);
  const o = gpu.tensor(q.shape, 'f32', 'attention.o');
  const params = [{ u32: T }, { u32: H }, { u32: HKV }, { u32: D }, { f32: scale }];
  if (layout) {
    gpu.dispatch(gpu.pipeline('attention', 'packed', { PROB_LEVELS: probLevels }), [q, k, v, o, layout], params, [
      Math.ceil(T / 64),
      H,
    ]);
    return o;
  }
  // K and V tiles of BK keys each fit 4 KiB of workgroup memory
  const BK = Math.max(1, Math.floor(1024 / D));
  if (gpu.variant('attention') === 'direct' && D % 4 === 0) {
    gpu.dispatch(gpu.pipeline('attention', 'direct', { PROB_LEVELS: probLevels }), [q, k, v, o], params, [
      Math.ceil(T / 64),
      H,
    ]);
    return o;
  }
  gpu.dispatch(gpu.pipeline('attention', 'main', { BK, TILE: BK * D, PROB_LEVELS: probLevels }), [q, k, v, o], params, [
    Math.ceil(T / 64),
    H,
  ]);
  return o;
}

export function relu(gpu: Gpu, y: GpuTensor): void {
  gpu.dispatch(gpu.pipeline('activation', 'relu'), [y], [{ u32: y.size }], flat(gpu, y.size));
}

export function gelu(gpu: Gpu, y: GpuTensor): void {
  gpu.dispatch(gpu.pipeline('activation', 'gelu'), [y], [{ u32: y.size }], flat(gpu, y.size));
}

export function siluMul(gpu: Gpu, gate: GpuTensor, up: GpuTensor): GpuTensor {
  const out = gpu.tensor(gate.shape, 'f32', 'siluMul.out');
  gpu.dispatch(gpu.pipeline('activation', 'siluMul'), [gate, up, out], [{ u32: gate.size }], flat(gpu, gate.size));
  return out;
}

/** In place: h += d. */
export function add(gpu: Gpu, d: GpuTensor, h: GpuTensor): void {
  gpu.dispatch(gpu.pipeline('add'), [d, h], [{ u32: h.size }], flat(gpu, h.size));
}

/** In place: folds logits [N, Vc] of vocabulary columns [v0, v0 + Vc) into state [N, 4] (online log-sum-exp). */
export function vocabChunk(gpu: Gpu, logits: GpuTensor, targets: GpuTensor, state: GpuTensor, v0: number): void {
  const [N, V] = rowsCols(logits);
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
    [Math.ceil(N / 64)],
  );
}

/** Per request (rows [starts[r], starts[r + 1])): (Σ log p, 1 when every row is greedy), [R, 2]. */
export function requestSums(gpu: Gpu, scores: GpuTensor, starts: GpuTensor): GpuTensor {
  const R = starts.size - 1;
  const out = gpu.tensor([R, 2], 'f32', 'requestSums.out');
  gpu.dispatch(gpu.pipeline('loglikelihood', 'requestSums'), [scores, starts, out], [{ u32: R }], [Math.ceil(R / 64)]);
  return out;
}

/** Number of NaN/Inf values in x. */
export async function checkFinite(gpu: Gpu, x: GpuTensor): Promise<number> {
  const count = gpu.upload(new Uint32Array(1), [1], 'checkFinite.count');
  gpu.dispatch(gpu.pipeline('checkFinite'), [x, count], [{ u32: x.size }], flat(gpu, x.size));
  const n = (await gpu.readU32(count))[0];
  gpu.release(count);
  return n;
}

// ---- quantization kernels ------------------------------------------------------------------------------------------

/** In place: H ← alpha·H + beta·XᵀX (GPTQ's running Hessian). */
export function hessian(gpu: Gpu, X: GpuTensor, H: GpuTensor, alpha: number, beta: number): void {
  const [T, K] = rowsCols(X);
  gpu.dispatch(
    gpu.pipeline('hessian'),
    [X, H],
    [{ u32: T }, { u32: K }, { f32: alpha }, { f32: beta }],
    [Math.ceil(K / 32), Math.ceil(K / 32)],
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
    [Math.ceil((R * numGroups) / 64)],
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
    flat(gpu, R * K, 64),
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
    [Math.ceil(R / 64)],
  );
}

/** W[:, i1+count:] −= Err · U[i1:i1+count, i1+count:] */
export function gptqUpdate(gpu: Gpu, U: GpuTensor, Err: GpuTensor, W: GpuTensor, i1: number, count: number): void {
  const [R, K] = W.shape;
  const rest = K - (i1 + count);
  if (rest <= 0) return;
  gpu.dispatch(
    gpu.pipeline('gptqUpdate'),
    [U, Err, W],
    [{ u32: R }, { u32: K }, { u32: i1 }, { u32: count }],
    [Math.ceil(rest / 32), Math.ceil(R / 8)],
  );
}

/** Per-row (Σ (yq − y)², Σ y²) of two [T, N] outputs: [T, 2]. */
export function outputError(gpu: Gpu, yq: GpuTensor, y: GpuTensor): GpuTensor {
  const [T, N] = rowsCols(y);
  const err = gpu.tensor([T, 2], 'f32', 'outputError');
  gpu.dispatch(gpu.pipeline('outputError'), [yq, y, err], [{ u32: T }, { u32: N }], [Math.ceil(T / 64)]);
  return err;
}

// ---- activation statistics and clustering (RPTQ) -------------------------------------------------------------------

/** In place: range [C, 2] ← per-channel (min, max) including X [T, C]. Start from (+inf, −inf). */
export function channelRange(gpu: Gpu, X: GpuTensor, range: GpuTensor): void {
  const [T, C] = rowsCols(X);
  gpu.dispatch(gpu.pipeline('channelRange'), [X, range], [{ u32: T }, { u32: C }], [Math.ceil(C / 64)]);
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
    [Math.ceil(N / 64)],
  );
}

/** In place: M [N/seg · K, 4] ← the mean of the points labelled with each centroid. */
export function kmeansUpdate(gpu: Gpu, P: GpuTensor, label: GpuTensor, M: GpuTensor, K: number, seg: number): void {
  gpu.dispatch(
    gpu.pipeline('kmeans', 'kmeansUpdate'),
    [P, label, M],
    [{ u32: P.size / 4 }, { u32: K }, { u32: seg }],
    [Math.ceil(M.size / 4 / 64)],
  );
}

/** In place on x [T, C]: static fake-quant with the (scale, zero) of each channel's cluster. */
export function actQuant(gpu: Gpu, cluster: GpuTensor, params: GpuTensor, x: GpuTensor, maxq: number): void {
  const C = cluster.size;
  gpu.dispatch(
    gpu.pipeline('actQuant'),
    [cluster, params, x],
    [{ u32: x.size }, { u32: C }, { f32: maxq }],
    flat(gpu, x.size, 64),
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
    flat(gpu, rows, 64),
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
    flat(gpu, T * C, 64),
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
    flat(gpu, rows * n, 64),
  );
  return y;
}

// ---- CLAQ -----------------------------------------------------------------------------------------------------------

/**
 * CLAQ's column loop over columns [i1, i1 + count), in one workgroup: Q's columns, Err [R, 128], book [K, 20], Wfit.
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

export type FactorStep = 'potrf' | 'trsm' | 'syrk' | 'trinvGemm' | 'trinvSolve' | 'reverse';

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
  switch (step) {
    case 'potrf':
      return gpu.dispatch(pipe, [A, flag], params, [1]);
    case 'trsm':
      return gpu.dispatch(pipe, [A], params, [Math.ceil(rest / 64)]);
    case 'syrk':
      return gpu.dispatch(pipe, [A], params, [Math.ceil(rest / 16), Math.ceil(rest / 16)]);
    case 'trinvGemm':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil(k0 / 16), Math.ceil(b / 16)]);
    case 'trinvSolve':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil((k0 + b) / 64)]);
    case 'reverse':
      return gpu.dispatch(pipe, [A, X], params, [Math.ceil(n / 16), Math.ceil(n / 16)]);
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
    flat(gpu, N * K),
  );
  return W;
}
