// Plain TypeScript twins of the WGSL kernels (the kernel table, kernels.ts, names each one): same names, same
// arguments, same math, written for clarity. They are the executable definition each kernel is tested against, the
// CPU backend of the forward pass, and the signatures the Backend interface is derived from (CpuTensor becomes the
// backend's tensor, Uint32Array its ids): a kernel's GPU op takes exactly its twin's arguments, with gpu first.
export interface CpuTensor {
  data: Float32Array;
  shape: number[];
}

export { claqBlock, CLAQ_BLOCK, CLAQ_BOOK, CLAQ_MAXK, CLAQ_WG } from './claqBlock.reference.ts';
export * from './backward.reference.ts';
export * from './steQuant.reference.ts';
import { roundToHalf, type Half } from './half.ts';
import type { ActQuant } from './tensor.ts';

export const cpu = (data: Float32Array, shape: number[]): CpuTensor => ({ data, shape });

/**
 * A new zero-filled array of n values of the same typed-array kind as `a`: Float32Array for f32 data (every use of the
 * twins as kernels' definitions and as the reference backend), Float64Array when a gradient check calls a twin with
 * f64 data (the type still says Float32Array), so that it computes and stores in f64.
 */
export function like(a: Float32Array, n: number): Float32Array {
  return new (a.constructor as Float32ArrayConstructor)(n);
}

function rowsCols(t: CpuTensor): [number, number] {
  const C = t.shape[t.shape.length - 1];
  return [t.data.length / C, C];
}

/** y[M, N] = x[M, K] · W[N, K]ᵀ + b */
export function matmul(x: CpuTensor, W: CpuTensor, b: CpuTensor | null): CpuTensor {
  const [M, K] = rowsCols(x);
  const [N] = W.shape;
  const y = like(x.data, M * N);
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x.data[xo + k] * W.data[wo + k];
      y[m * N + n] = acc + (b ? b.data[n] : 0);
    }
  }
  return cpu(y, [...x.shape.slice(0, -1), N]);
}

/** y[t] = E[ids[t] − v0] for the ids E's rows hold; into `out` (a row chunk of a larger matrix) or a new tensor. */
export function embed(E: CpuTensor, ids: Uint32Array, out: CpuTensor | null = null, v0 = 0): CpuTensor {
  const [rows, C] = E.shape;
  const y = out ?? cpu(new Float32Array(ids.length * C), [ids.length, C]);
  ids.forEach((id, t) => {
    if (id >= v0 && id < v0 + rows) y.data.set(E.data.subarray((id - v0) * C, (id - v0 + 1) * C), t * C);
  });
  return y;
}

export function layerNorm(
  x: CpuTensor,
  g: CpuTensor,
  b: CpuTensor,
  eps: number,
  perm: Uint32Array | null = null,
): CpuTensor {
  const [T, C] = rowsCols(x);
  const y = like(x.data, x.data.length);
  for (let t = 0; t < T; t++) {
    const row = x.data.subarray(t * C, t * C + C);
    let mean = 0;
    for (const v of row) mean += v;
    mean /= C;
    let v2 = 0;
    for (const v of row) v2 += (v - mean) ** 2;
    const rstd = 1 / Math.sqrt(v2 / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = (row[perm ? perm[c] : c] - mean) * rstd * g.data[c] + b.data[c];
  }
  return cpu(y, [...x.shape]);
}

export function rmsNorm(x: CpuTensor, g: CpuTensor, eps: number, perm: Uint32Array | null = null): CpuTensor {
  const [T, C] = rowsCols(x);
  const y = like(x.data, x.data.length);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[t * C + c] ** 2;
    const rstd = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x.data[t * C + (perm ? perm[c] : c)] * rstd * g.data[c];
  }
  return cpu(y, [...x.shape]);
}

/** In place, HF rotate_half: pairs (i, i + D/2) inside each head; cos/sin tables [positions, D/2]. */
/** layout (packed token trees, [T, 4]): each token's position is its 4th value, not pos0 + t. */
export function rope(
  cos: CpuTensor,
  sin: CpuTensor,
  x: CpuTensor,
  H: number,
  D: number,
  pos0 = 0,
  layout: Uint32Array | null = null,
): void {
  const half = D / 2;
  const T = x.data.length / (H * D);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < half; i++) {
        const pos = layout ? layout[4 * t + 3] : pos0 + t;
        const c = cos.data[pos * half + i];
        const s = sin.data[pos * half + i];
        const base = t * H * D + h * D;
        const x1 = x.data[base + i];
        const x2 = x.data[base + i + half];
        x.data[base + i] = x1 * c - x2 * s;
        x.data[base + i + half] = x2 * c + x1 * s;
      }
}

/** The keys query t sees: all of [0, t] (causal), or with a packed layout its context range, then its own segment. */
function keysOf(t: number, layout: Uint32Array | null): number[] {
  const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
  if (!layout) return range(0, t + 1);
  return [...range(layout[4 * t], layout[4 * t + 1]), ...range(layout[4 * t + 2], t + 1)];
}

/** Causal attention, grouped-query: head h reads KV head h / (H / HKV). probLevels > 0 rounds each softmax
 * probability to round(p·L)/L before it weights V (RPTQ's 8-bit attention probabilities), with no renormalisation.
 * layout (packed token trees, [T, 4]): query t sees keys [x, y) then [z, t] of its row (x, y, z, position). */
export function attention(
  q: CpuTensor,
  k: CpuTensor,
  v: CpuTensor,
  H: number,
  HKV: number,
  D: number,
  scale: number,
  probLevels = 0,
  layout: Uint32Array | null = null,
): CpuTensor {
  const T = q.data.length / (H * D);
  const o = like(q.data, q.data.length);
  // scores by key index: a layout may reach keys past T (a KV cache's rows)
  const s = new Float64Array(k.data.length / (HKV * D));
  for (let t = 0; t < T; t++) {
    const keys = keysOf(t, layout);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / HKV));
      const qb = t * H * D + h * D;
      let m = -Infinity;
      for (const j of keys) {
        let d = 0;
        for (let c = 0; c < D; c++) d += q.data[qb + c] * k.data[j * HKV * D + g * D + c];
        s[j] = d * scale;
        m = Math.max(m, s[j]);
      }
      let l = 0;
      for (const j of keys) l += s[j] = Math.exp(s[j] - m);
      if (probLevels > 0) {
        for (const j of keys) s[j] = roundEven(Math.fround((s[j] / l) * probLevels)) / probLevels;
        l = 1;
      }
      for (let c = 0; c < D; c++) {
        let acc = 0;
        for (const j of keys) acc += s[j] * v.data[j * HKV * D + g * D + c];
        o[qb + c] = acc / l;
      }
    }
  }
  return cpu(o, [...q.shape]);
}

export function relu(y: CpuTensor): void {
  for (let i = 0; i < y.data.length; i++) y.data[i] = Math.max(y.data[i], 0);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)); erf by the same A&S 7.1.26 formula the kernel uses. */
export function gelu(y: CpuTensor): void {
  for (let i = 0; i < y.data.length; i++) {
    const v = y.data[i];
    y.data[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
}

export function erf(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-a * a));
}

export function siluMul(gate: CpuTensor, up: CpuTensor): CpuTensor {
  const out = like(gate.data, gate.data.length);
  for (let i = 0; i < out.length; i++) {
    const g = gate.data[i];
    out[i] = (g / (1 + Math.exp(-g))) * up.data[i];
  }
  return cpu(out, [...gate.shape]);
}

export function add(d: CpuTensor, h: CpuTensor): void {
  for (let i = 0; i < h.data.length; i++) h.data[i] += d.data[i];
}

/** In place: folds logits [N, Vc] of vocabulary columns [v0, v0 + Vc) into state [N, 4] = (max, Σ exp(l − max),
 * target logit, first argmax), in f64 within the chunk. */
export function vocabChunk(logits: CpuTensor, targets: Uint32Array, state: CpuTensor, v0: number): void {
  const [N, V] = rowsCols(logits);
  const st = state.data;
  for (let r = 0; r < N; r++) {
    const row = logits.data.subarray(r * V, r * V + V);
    let m = -Infinity;
    let arg = -1;
    row.forEach((v, c) => {
      if (v > m) [m, arg] = [v, c];
    });
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    const o = 4 * r;
    if (targets[r] >= v0 && targets[r] < v0 + V) st[o + 2] = row[targets[r] - v0];
    if (v0 === 0) [st[o], st[o + 1], st[o + 3]] = [m, z, arg];
    else {
      const mNew = Math.max(st[o], m);
      st[o + 1] = st[o + 1] * Math.exp(st[o] - mNew) + z * Math.exp(m - mNew);
      if (m > st[o]) st[o + 3] = v0 + arg;
      st[o] = mNew;
    }
  }
}

/**
 * In place: rows [offset, offset + N) of scores [rows, 2] ← (log p(target), target is the argmax) from state [N, 4].
 */
export function finishScores(state: CpuTensor, targets: Uint32Array, scores: CpuTensor, offset: number): void {
  const st = state.data;
  targets.forEach((t, r) => {
    scores.data[2 * (offset + r)] = st[4 * r + 2] - st[4 * r] - Math.log(st[4 * r + 1]);
    scores.data[2 * (offset + r) + 1] = st[4 * r + 3] === t ? 1 : 0;
  });
}

/** Per request (rows [starts[r], starts[r + 1])): (Σ log p, 1 when every row is greedy), [R, 2]. */
export function requestSums(scores: CpuTensor, starts: Uint32Array): CpuTensor {
  const R = starts.length - 1;
  const out = new Float32Array(2 * R);
  for (let r = 0; r < R; r++) {
    let ll = 0;
    let greedy = 1;
    for (let i = starts[r]; i < starts[r + 1]; i++) {
      ll += scores.data[2 * i];
      greedy *= scores.data[2 * i + 1];
    }
    out[2 * r] = ll;
    out[2 * r + 1] = greedy;
  }
  return cpu(out, [R, 2]);
}

/** the number of NaN and ±Inf values in x (async as the GPU op, which reads its count back) */
export async function countNonFinite(x: CpuTensor): Promise<number> {
  let n = 0;
  for (const v of x.data) if (!Number.isFinite(v)) n++;
  return n;
}

// ---- quantization kernels ------------------------------------------------------------------------------------------

/** torch.round / WGSL round: halves go to the even neighbour. */
export function roundEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** In place: H ← alpha·H + beta·XᵀX */
export function hessian(X: CpuTensor, H: CpuTensor, alpha: number, beta: number): void {
  const [T, K] = rowsCols(X);
  for (let i = 0; i < K; i++)
    for (let j = 0; j < K; j++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += X.data[t * K + i] * X.data[t * K + j];
      H.data[i * K + j] = alpha * H.data[i * K + j] + beta * acc;
    }
}

/** Quantizer grid: maxq = 2^bits − 1 levels, asymmetric or symmetric, groups of `groupsize` columns (K: per row). */
export interface QuantGrid {
  maxq: number;
  sym: boolean;
  groupsize: number;
}

/**
 * The one min/max → (scale, zero) rule (methods.md), the quantParams kernel's twin. Weights widen the range to
 * include 0 (symmetric or asymmetric); RPTQ's static activation quantizers (includeZero false) use the range as it is.
 */
export function fitRange(lo: number, hi: number, maxq: number, sym: boolean, includeZero = true): [number, number] {
  if (!includeZero) {
    const span = hi - lo;
    const scale = Math.fround(span > 0 ? span / maxq : Math.max(Math.abs(hi), 1e-8));
    return [scale, roundEven(Math.fround(-lo / scale))];
  }
  let xmin = Math.min(lo, 0);
  let xmax = Math.max(hi, 0);
  if (sym) {
    xmax = Math.max(Math.abs(xmin), xmax);
    if (xmin < 0) xmin = -xmax;
  }
  if (xmin === 0 && xmax === 0) [xmin, xmax] = [-1, 1];
  const scale = Math.fround((xmax - xmin) / maxq);
  const zero = sym ? (maxq + 1) / 2 : roundEven(Math.fround(-xmin / scale));
  return [scale, zero];
}

export function quantize(x: number, scale: number, zero: number, maxq: number): number {
  const level = Math.min(Math.max(roundEven(Math.fround(x / scale)) + zero, 0), maxq);
  return Math.fround(scale * (level - zero));
}

export function quantParams(
  W: CpuTensor,
  params: CpuTensor,
  grid: QuantGrid,
  firstGroup: number,
  numGroups: number,
): void {
  const [R, K] = W.shape;
  const totalGroups = params.data.length / (2 * R);
  for (let r = 0; r < R; r++)
    for (let g = firstGroup; g < firstGroup + numGroups; g++) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = g * grid.groupsize; c < Math.min((g + 1) * grid.groupsize, K); c++) {
        lo = Math.min(lo, W.data[r * K + c]);
        hi = Math.max(hi, W.data[r * K + c]);
      }
      const [scale, zero] = fitRange(lo, hi, grid.maxq, grid.sym);
      params.data[(r * totalGroups + g) * 2] = scale;
      params.data[(r * totalGroups + g) * 2 + 1] = zero;
    }
}

export function fakeQuant(W: CpuTensor, params: CpuTensor, colGroup: Uint32Array, grid: QuantGrid): CpuTensor {
  const [R, K] = W.shape;
  const totalGroups = params.data.length / (2 * R);
  const Q = new Float32Array(R * K);
  for (let r = 0; r < R; r++)
    for (let c = 0; c < K; c++) {
      const g = (r * totalGroups + colGroup[c]) * 2;
      Q[r * K + c] = quantize(W.data[r * K + c], params.data[g], params.data[g + 1], grid.maxq);
    }
  return cpu(Q, [R, K]);
}

/** columns per GPTQ block: the column loop keeps a block row in private memory, Err is [R, GPTQ_BLOCK] */
export const GPTQ_BLOCK = 128;

export function gptqBlock(
  U: CpuTensor,
  W: CpuTensor,
  params: CpuTensor,
  colGroup: Uint32Array,
  Q: CpuTensor,
  Err: CpuTensor,
  i1: number,
  count: number,
  maxq: number,
): void {
  const [R, K] = W.shape;
  const totalGroups = params.data.length / (2 * R);
  const w = new Float32Array(count);
  for (let r = 0; r < R; r++) {
    w.set(W.data.subarray(r * K + i1, r * K + i1 + count));
    for (let i = 0; i < count; i++) {
      const col = i1 + i;
      const g = (r * totalGroups + colGroup[col]) * 2;
      const q = quantize(w[i], params.data[g], params.data[g + 1], maxq);
      Q.data[r * K + col] = q;
      const err = Math.fround((w[i] - q) / U.data[col * K + col]);
      Err.data[r * GPTQ_BLOCK + i] = err;
      for (let j = i + 1; j < count; j++) w[j] -= err * U.data[col * K + i1 + j];
    }
  }
}

export function gptqUpdate(U: CpuTensor, Err: CpuTensor, W: CpuTensor, i1: number, count: number): void {
  const [R, K] = W.shape;
  for (let r = 0; r < R; r++)
    for (let c = i1 + count; c < K; c++) {
      let acc = 0;
      for (let k = 0; k < count; k++) acc += Err.data[r * GPTQ_BLOCK + k] * U.data[(i1 + k) * K + c];
      W.data[r * K + c] -= acc;
    }
}

export function outputError(yq: CpuTensor, y: CpuTensor): CpuTensor {
  const [T, N] = rowsCols(y);
  const err = new Float32Array(T * 2);
  for (let t = 0; t < T; t++)
    for (let n = 0; n < N; n++) {
      const b = y.data[t * N + n];
      err[t * 2] += (yq.data[t * N + n] - b) ** 2;
      err[t * 2 + 1] += b * b;
    }
  return cpu(err, [T, 2]);
}

// ---- activation statistics and clustering (RPTQ) -------------------------------------------------------------------

export function channelRange(X: CpuTensor, range: CpuTensor): void {
  const [T, C] = rowsCols(X);
  for (let c = 0; c < C; c++) {
    let lo = range.data[c * 2];
    let hi = range.data[c * 2 + 1];
    for (let t = 0; t < T; t++) {
      const v = X.data[t * C + c];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    range.data[c * 2] = lo;
    range.data[c * 2 + 1] = hi;
  }
}

/** squared distance in f32, summed in the kernel's order */
function dist2(P: Float32Array, n: number, M: Float32Array, j: number): number {
  let s = 0;
  for (let d = 0; d < 4; d++) s = Math.fround(s + Math.fround((P[n * 4 + d] - M[j * 4 + d]) ** 2));
  return s;
}

export function kmeansAssign(
  P: CpuTensor,
  M: CpuTensor,
  label: Uint32Array,
  dist: CpuTensor,
  K: number,
  seg: number,
): void {
  const N = P.data.length / 4;
  for (let n = 0; n < N; n++) {
    const j0 = Math.floor(n / seg) * K;
    let best = j0;
    let bestD = Infinity;
    for (let j = j0; j < j0 + K; j++) {
      const d = dist2(P.data, n, M.data, j);
      if (d < bestD) ((bestD = d), (best = j));
    }
    label[n] = best;
    dist.data[n] = bestD;
  }
}

export function kmeansUpdate(P: CpuTensor, label: Uint32Array, M: CpuTensor, _K: number, _seg: number): void {
  const J = M.data.length / 4;
  const sums = new Float64Array(J * 4);
  const counts = new Uint32Array(J);
  label.forEach((j, n) => {
    counts[j]++;
    for (let d = 0; d < 4; d++) sums[j * 4 + d] += P.data[n * 4 + d];
  });
  for (let j = 0; j < J; j++)
    if (counts[j]) for (let d = 0; d < 4; d++) M.data[j * 4 + d] = sums[j * 4 + d] / counts[j];
}

/** In place on x [T, C]: static fake-quant with the (scale, zero) of each channel's cluster. */
export function actQuant(x: CpuTensor, q: ActQuant<CpuTensor>): void {
  const { cluster, params, maxq } = q;
  const C = cluster.length;
  for (let i = 0; i < x.data.length; i++) {
    const k = cluster[i % C];
    x.data[i] = quantize(x.data[i], params.data[k * 2], params.data[k * 2 + 1], maxq);
  }
}

// ---- per-token quantization and block rotations (DuQuant) ----------------------------------------------------------

/** In place on x viewed as [rows, G]: each row's grid from its min and max times lac (not widened to include 0). */
export function tokenQuant(x: CpuTensor, G: number, maxq: number, lac: number): void {
  const f = Math.fround;
  for (let base = 0; base < x.data.length; base += G) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = 0; c < G; c++) ((lo = Math.min(lo, x.data[base + c])), (hi = Math.max(hi, x.data[base + c])));
    lo = f(lo * lac);
    hi = f(hi * lac);
    const scale = Math.min(Math.max(f(f(hi - lo) / maxq), f(1e-5)), f(1e4));
    const zero = roundEven(f(-lo / scale));
    for (let c = 0; c < G; c++) {
      const level = Math.min(Math.max(roundEven(f(x.data[base + c] / scale)) + zero, 0), maxq);
      x.data[base + c] = f(scale * (level - zero));
    }
  }
}

/** y = xin · blockdiag(R), xin the columns of x gathered by perm when given; R is [blocks or 1, n, n]. */
export function blockRotate(x: CpuTensor, R: CpuTensor, n: number, perm: Uint32Array | null = null): CpuTensor {
  const [T, C] = rowsCols(x);
  if (C % n !== 0) throw new Error(`blockRotate: block size ${n} does not divide the width ${C}`);
  const perBlock = R.data.length === C * n;
  if (!perBlock && R.data.length !== n * n)
    throw new Error(`blockRotate: R has ${R.data.length} values, neither one ${n} × ${n} matrix nor ${C / n} of them`);
  const y = like(x.data, T * C);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < C / n; b++) {
      const rb = (perBlock ? b : 0) * n * n;
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let j = 0; j < n; j++)
          acc += x.data[t * C + (perm ? perm[b * n + j] : b * n + j)] * R.data[rb + j * n + i];
        y[t * C + b * n + i] = acc;
      }
    }
  return cpu(y, [...x.shape]);
}

/**
 * greedyPick's twin: peaks[step] ← max − min of W (first index on ties); with record, chans[step] ← the step's
 * channel.
 */
export function greedyPick(
  W: CpuTensor,
  peaks: CpuTensor,
  chans: Uint32Array,
  step: number,
  n: number,
  record: boolean,
  refExchange: boolean,
): void {
  let hi = -Infinity;
  let lo = Infinity;
  let iHi = 0;
  let iLo = 0;
  W.data.forEach((v, i) => {
    if (v > hi) ((hi = v), (iHi = i));
    if (v < lo) ((lo = v), (iLo = i));
  });
  peaks.data[step] = Math.fround(hi - lo);
  if (!record) return;
  const at = Math.abs(hi) > Math.abs(lo) ? iHi : iLo;
  chans[step] = refExchange ? Math.floor(at / n) % n : at % n;
}

/** greedyApply's twin: y = X · P_c·A·P_c, c = chans[step]. */
export function greedyApply(X: CpuTensor, A: CpuTensor, chans: Uint32Array, step: number, n: number): CpuTensor {
  if (X.data.length % n !== 0 || A.data.length !== n * n)
    throw new Error(`greedyApply: ${X.data.length} values are not rows of ${n}, or A is not ${n} × ${n}`);
  const rows = X.data.length / n;
  const c = chans[step];
  const sw = (i: number) => (i === 0 ? c : i === c ? 0 : i);
  const y = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < n; j++) {
      const sj = sw(j);
      let acc = 0;
      for (let k = 0; k < n; k++) acc = Math.fround(acc + Math.fround(X.data[r * n + k] * A.data[sw(k) * n + sj]));
      y[r * n + j] = acc;
    }
  return cpu(y, [rows, n]);
}

// ---- GPTQ's factorization (cholesky.wgsl): each step as the kernel does it, f32 storage --------------------------

export type FactorStep = 'potrf' | 'trsm' | 'syrk' | 'trinvGemm' | 'trinvSolve' | 'reverse';

export function factorStep(
  step: FactorStep,
  At: CpuTensor,
  Xt: CpuTensor,
  flag: Uint32Array,
  n: number,
  k0: number,
  b: number,
): void {
  const A = At.data;
  const X = Xt.data;
  switch (step) {
    case 'potrf':
      for (let jj = k0; jj < k0 + b; jj++) {
        let d = A[jj * n + jj];
        if (!(d > 0)) {
          flag[0] = Math.min(flag[0], jj);
          d = 1;
        }
        A[jj * n + jj] = Math.sqrt(d);
        for (let i = jj + 1; i < k0 + b; i++) A[i * n + jj] /= A[jj * n + jj];
        for (let i = jj + 1; i < k0 + b; i++)
          for (let l = jj + 1; l <= i; l++) A[i * n + l] -= A[i * n + jj] * A[l * n + jj];
      }
      return;
    case 'trsm':
      for (let i = k0 + b; i < n; i++)
        for (let jj = k0; jj < k0 + b; jj++) {
          let s = A[i * n + jj];
          for (let m = k0; m < jj; m++) s = Math.fround(s - Math.fround(A[i * n + m] * A[jj * n + m]));
          A[i * n + jj] = s / A[jj * n + jj];
        }
      return;
    case 'syrk':
      for (let i = k0 + b; i < n; i++)
        for (let j = k0 + b; j <= i; j++) {
          let s = 0;
          for (let m = k0; m < k0 + b; m++) s = Math.fround(s + Math.fround(A[i * n + m] * A[j * n + m]));
          A[i * n + j] -= s;
        }
      return;
    case 'trinvGemm':
      for (let i = k0; i < k0 + b; i++)
        for (let j = 0; j < k0; j++) {
          let s = 0;
          for (let m = j; m < k0; m++) s = Math.fround(s - Math.fround(A[i * n + m] * X[m * n + j]));
          X[i * n + j] = s;
        }
      return;
    case 'trinvSolve':
      for (let j = 0; j < k0 + b; j++)
        for (let i = k0; i < k0 + b; i++) {
          if (j > i) {
            X[i * n + j] = 0;
            continue;
          }
          let s = j < k0 ? X[i * n + j] : i === j ? 1 : 0;
          for (let m = Math.max(k0, j); m < i; m++) s = Math.fround(s - Math.fround(A[i * n + m] * X[m * n + j]));
          X[i * n + j] = s / A[i * n + i];
        }
      return;
    case 'reverse':
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) A[i * n + j] = j >= i ? X[(n - 1 - i) * n + (n - 1 - j)] : 0;
      return;
  }
}

/**
 * f32 x as 16-bit weight storage: on the reference backend, the values 16 bits keep (half.ts rounds as convert.wgsl).
 */
export function pack16(x: CpuTensor, format: Half): CpuTensor {
  return cpu(roundToHalf(x.data, format), [...x.shape]);
}

// ---- GPTQ checkpoints -----------------------------------------------------------------------------------------------

/** Why a GPTQ-v1 layer's tensors do not fit N, K, G and bits (src/model/gptqPacking.ts), or null: both twins check. */
export function gptqShapeError(
  sizes: { qweight: number; qzeros: number; scales: number; gIdx: number },
  bits: number,
  N: number,
  K: number,
  G: number,
): string | null {
  if (![2, 3, 4, 8].includes(bits)) return `bits = ${bits}: GPTQ packs 2, 3, 4 or 8`;
  if ((K * bits) % 32 !== 0 || (N * bits) % 32 !== 0)
    return `${N} × ${K} at ${bits} bits does not pack into whole words`;
  const want = { qweight: ((K * bits) / 32) * N, qzeros: G * ((N * bits) / 32), scales: G * N, gIdx: K };
  for (const [name, size] of Object.entries(want)) {
    const got = sizes[name as keyof typeof want];
    if (got !== size) return `${name} has ${got} values; N = ${N}, K = ${K}, G = ${G} at ${bits} bits needs ${size}`;
  }
  return null;
}

/** W [N, K] f32 from one GPTQ-v1 layer (src/model/gptqPacking.ts): W[n, k] = scales[g, n] · (q[k, n] − z[g, n]),
 * g = g_idx[k], z = stored zero + 1 (not masked). scales holds the values its 16-bit storage keeps. */
export function gptqDequant(
  qweight: Uint32Array,
  qzeros: Uint32Array,
  scales: CpuTensor,
  gIdx: Uint32Array,
  bits: number,
  N: number,
  K: number,
  G: number,
): CpuTensor {
  const bad = gptqShapeError(
    { qweight: qweight.length, qzeros: qzeros.length, scales: scales.data.length, gIdx: gIdx.length },
    bits,
    N,
    K,
    G,
  );
  if (bad) throw new Error(`gptqDequant: ${bad}`);
  const mask = (1 << bits) - 1;
  // the code at bit position p of a stream of words `stride` apart, from `base`
  const field = (words: Uint32Array, base: number, stride: number, p: number) => {
    const w = p >>> 5;
    const s = p & 31;
    let v = words[base + w * stride] >>> s;
    if (s + bits > 32) v |= words[base + (w + 1) * stride] << (32 - s);
    return v & mask;
  };
  const zcols = (N * bits) / 32;
  const W = new Float32Array(N * K);
  for (let k = 0; k < K; k++) {
    const g = gIdx[k];
    if (g >= G) throw new Error(`gptqDequant: g_idx[${k}] = ${g}, but the layer has ${G} groups`);
    for (let n = 0; n < N; n++) {
      const q = field(qweight, n, N, k * bits);
      const z = field(qzeros, g * zcols, 1, n * bits) + 1;
      W[n * K + k] = Math.fround(scales.data[g * N + n] * (q - z));
    }
  }
  return cpu(W, [N, K]);
}

/** the code at bit position p of a stream of `bits`-bit codes in words `stride` apart, from `base` */
function codeAt(words: Uint32Array, base: number, stride: number, p: number, bits: number): number {
  const w = p >>> 5;
  const s = p & 31;
  let v = words[base + w * stride] >>> s;
  if (s + bits > 32) v |= words[base + (w + 1) * stride] << (32 - s);
  return v & ((1 << bits) - 1);
}

/**
 * A packed layer (src/model/packedLinear.ts) as dense W [N, K]: W[n, k] = scale[g, n]·(q[k, n] − z[g, n]) in f32,
 * g = gIdx[k], then rounded as the store keeps dense weights (format: 0 f32, 1 f16, 2 bf16).
 */
export function packedDequant(
  codes: Uint32Array,
  zeros: Uint32Array,
  scales: CpuTensor,
  gIdx: Uint32Array,
  bits: number,
  N: number,
  K: number,
  format = 0,
): CpuTensor {
  const zcols = Math.ceil((N * bits) / 32);
  const W = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      const g = gIdx[k];
      const z = codeAt(zeros, g * zcols, 1, n * bits, bits);
      W[n * K + k] = Math.fround(scales.data[g * N + n] * (codeAt(codes, n, N, k * bits, bits) - z));
    }
  return cpu(format === 0 ? W : roundToHalf(W, format === 1 ? 'f16' : 'bf16'), [N, K]);
}

/** y = x·Wᵀ + b with W packed: the packed layer's dense copy (packedDequant), then matmul. */
export function matmulPacked(
  x: CpuTensor,
  codes: Uint32Array,
  zeros: Uint32Array,
  scales: CpuTensor,
  gIdx: Uint32Array,
  b: CpuTensor | null,
  bits: number,
  N: number,
  K: number,
  round = 0,
): CpuTensor {
  const [, K2] = rowsCols(x);
  if (K2 !== K) throw new Error(`matmulPacked: x has ${K2} columns, the layer ${K} inputs`);
  return matmul(x, packedDequant(codes, zeros, scales, gIdx, bits, N, K, round), b);
}
