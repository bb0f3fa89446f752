// DuQuant's orthogonal transforms of a linear input (Lin et al. 2024; shared/docs/methods.md, "DuQuant", checked
// against Hsu1023/DuQuant's quantize/quantizer.py and get_rot.py):
//   B(n)            the product G_{n−2}…G_0 of Givens rotations (cos = 1/√(i+2), sin = √(i+1)/√(i+2)), rows
//                   and columns 0 and n−1 swapped: row 0 of B is uniform 1/√n, so x·B spreads channel 0 over the
//                   block;
//   greedyRotation  up to maxSteps steps on the activation viewed as [rows, n]: take the channel of the entry of
//                   largest |value| (signed max vs min), conjugate B·diag(1, Q) by the swap 0↔c, apply; keep the
//                   prefix of steps up to the first smallest max − min of the whole result (zero steps allowed);
//   zigzag          channels sorted by max|x| after R₁, dealt into C/n buckets 0,1,…,K−1,K−1,…,0,0,1,…;
//   hadamard        the normalised Sylvester–Hadamard matrix (Q and K after RoPE).
// Q is one random orthogonal (n−1)×(n−1) matrix per rotation (QR of a seeded Gaussian), shared by its steps. All
// host math here is f64 on small n × n matrices; the activations are rotated online by the blockRotate kernel.
import type { Backend } from '../gpu/backend.ts';
import { SeededRandom } from './random.ts';

/** n × n row-major */
export type Matrix = Float64Array;

export function identity(n: number): Matrix {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

/** get_rot.py's B: Givens rotations G_{n−2}…G_0, then rows and columns 0 and n−1 swapped. */
export function givensSpread(n: number): Matrix {
  let R = identity(n);
  for (let i = 0; i < n - 1; i++) {
    const c = 1 / Math.sqrt(i + 2);
    const s = Math.sqrt(i + 1) / Math.sqrt(i + 2);
    // R ← G_i · R touches rows i and i+1 only
    for (let j = 0; j < n; j++) {
      const a = R[i * n + j];
      const b = R[(i + 1) * n + j];
      R[i * n + j] = c * a - s * b;
      R[(i + 1) * n + j] = s * a + c * b;
    }
  }
  R = swapRowsCols(R, n, 0, n - 1);
  return R;
}

/** P·M·P for the transposition P of a and b (rows and columns swapped). */
export function swapRowsCols(M: Matrix, n: number, a: number, b: number): Matrix {
  if (a === b) return M.slice();
  const out = M.slice();
  const idx = (i: number) => (i === a ? b : i === b ? a : i);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] = M[idx(i) * n + idx(j)];
  return out;
}

/** A standard normal draw (Box–Muller) from the seeded generator. */
function gaussian(rng: SeededRandom): number {
  const u = Math.max(rng.next(), 1e-300);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/** Q of the QR factorization (Householder) of a seeded m × m Gaussian: a random orthogonal matrix. */
export function randomOrthogonal(m: number, rng: SeededRandom): Matrix {
  const A = Float64Array.from({ length: m * m }, () => gaussian(rng));
  const Q = identity(m);
  for (let k = 0; k < m - 1; k++) {
    // Householder vector of column k below the diagonal
    let norm = 0;
    for (let i = k; i < m; i++) norm += A[i * m + k] ** 2;
    norm = Math.sqrt(norm);
    if (norm === 0) continue;
    const alpha = A[k * m + k] > 0 ? -norm : norm;
    const v = new Float64Array(m);
    v[k] = A[k * m + k] - alpha;
    for (let i = k + 1; i < m; i++) v[i] = A[i * m + k];
    const vv = v.reduce((s, x) => s + x * x, 0);
    if (vv === 0) continue;
    // A ← (I − 2vvᵀ/vᵀv)·A and Q ← Q·(I − 2vvᵀ/vᵀv)
    for (let j = 0; j < m; j++) {
      let d = 0;
      for (let i = k; i < m; i++) d += v[i] * A[i * m + j];
      const f = (2 * d) / vv;
      for (let i = k; i < m; i++) A[i * m + j] -= f * v[i];
    }
    for (let i = 0; i < m; i++) {
      let d = 0;
      for (let j = k; j < m; j++) d += Q[i * m + j] * v[j];
      const f = (2 * d) / vv;
      for (let j = k; j < m; j++) Q[i * m + j] -= f * v[j];
    }
  }
  return Q;
}

/** get_rot(n): B·diag(1, Q) with a fresh random orthogonal Q. */
export function spreadWithRandom(n: number, rng: SeededRandom): Matrix {
  const B = givensSpread(n);
  if (n === 1) return B;
  const Q = randomOrthogonal(n - 1, rng);
  const D = identity(n);
  for (let i = 0; i < n - 1; i++) for (let j = 0; j < n - 1; j++) D[(i + 1) * n + (j + 1)] = Q[i * (n - 1) + j];
  return rotateRows(B, n, n, D);
}

export interface GreedyRotation {
  /** n × n, orthogonal */
  R: Matrix;
  /** steps kept (the prefix up to the first smallest max − min) */
  steps: number;
  /** max − min of the whole activation after 0, 1, …, maxSteps steps */
  peaks: number[];
}

/**
 * The greedy rotation of X [rows, n] (row-major, f64, not modified). Each step finds the entry of largest |value|
 * (the signed max against the signed min) and uses its channel — or, with refExchange, its row index mod n as the
 * reference code does by a bug — as c, and applies P_c·B·diag(1, Q)·P_c.
 */
export function greedyRotation(
  X: Float64Array,
  n: number,
  maxSteps: number,
  rng: SeededRandom,
  refExchange = false,
): GreedyRotation {
  const rows = X.length / n;
  const base = spreadWithRandom(n, rng);
  let W: Float64Array = X.slice();
  const peaks: number[] = [];
  const exchanges: number[] = [];
  const extremes = (M: Float64Array) => {
    let hi = -Infinity;
    let lo = Infinity;
    let iHi = 0;
    let iLo = 0;
    for (let i = 0; i < M.length; i++) {
      if (M[i] > hi) ((hi = M[i]), (iHi = i));
      if (M[i] < lo) ((lo = M[i]), (iLo = i));
    }
    return { hi, lo, iHi, iLo };
  };
  for (let step = 0; step < maxSteps; step++) {
    const { hi, lo, iHi, iLo } = extremes(W);
    peaks.push(hi - lo);
    const at = Math.abs(hi) > Math.abs(lo) ? iHi : iLo;
    const c = refExchange ? Math.floor(at / n) % n : at % n;
    exchanges.push(c);
    W = rotateRows(W, rows, n, swapRowsCols(base, n, 0, c));
  }
  const { hi, lo } = extremes(W);
  peaks.push(hi - lo);
  let steps = 0;
  for (let k = 1; k < peaks.length; k++) if (peaks[k] < peaks[steps]) steps = k;
  let R = identity(n);
  for (let k = 0; k < steps; k++) R = rotateRows(R, n, n, swapRowsCols(base, n, 0, exchanges[k]));
  return { R, steps, peaks };
}

/** X [rows, n] · M [n, n] (with rows = n, the product of two matrices) */
export function rotateRows(X: Float64Array, rows: number, n: number, M: Matrix): Float64Array {
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++)
    for (let k = 0; k < n; k++) {
      const x = X[r * n + k];
      if (x === 0) continue;
      for (let j = 0; j < n; j++) out[r * n + j] += x * M[k * n + j];
    }
  return out;
}

/**
 * The zigzag permutation of C channels in blocks of n: channels by decreasing score (stable), dealt into C/n buckets in
 * the order 0,1,…,K−1,K−1,…,0,0,1,…, buckets concatenated. New channel i is old channel perm[i].
 */
export function zigzag(score: ArrayLike<number>, n: number): Uint32Array {
  const C = score.length;
  const K = C / n;
  const order = Array.from({ length: C }, (_, i) => i).sort((a, b) => score[b] - score[a] || a - b);
  const buckets: number[][] = Array.from({ length: K }, () => []);
  order.forEach((c, i) => {
    const lap = Math.floor(i / K);
    const j = i % K;
    buckets[lap % 2 === 0 ? j : K - 1 - j].push(c);
  });
  return Uint32Array.from(buckets.flat());
}

/** The normalised Sylvester–Hadamard matrix of order n (a power of two): orthogonal and symmetric. */
export function hadamard(n: number): Matrix {
  if (n < 1 || (n & (n - 1)) !== 0)
    throw new Error(`a Sylvester–Hadamard matrix needs a power-of-two order (got ${n})`);
  let H = new Float64Array([1]);
  for (let m = 1; m < n; m *= 2) {
    const next = new Float64Array(4 * m * m);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < m; j++) {
        const v = H[i * m + j] / Math.SQRT2;
        next[i * 2 * m + j] = v;
        next[i * 2 * m + j + m] = v;
        next[(i + m) * 2 * m + j] = v;
        next[(i + m) * 2 * m + j + m] = -v;
      }
    H = next;
  }
  return H;
}

/**
 * The rotation block size for a width: block_size when it divides, else the largest divisor ≤ block_size
 * (172 → 86).
 */
export function rotationBlock(width: number, blockSize: number): number {
  for (let n = Math.min(blockSize, width); n >= 1; n--) if (width % n === 0) return n;
  return 1;
}

/** max |MᵀM − I| */
export function orthogonalityError(M: Matrix, n: number): number {
  let worst = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let k = 0; k < n; k++) d += M[k * n + i] * M[k * n + j];
      worst = Math.max(worst, Math.abs(d - (i === j ? 1 : 0)));
    }
  return worst;
}

/**
 * greedyRotation on a backend (the greedyRotation kernels): X [rows, n] (a [T, C] activation viewed as its blocks)
 * stays there, every step is queued without a read-back, and the peaks and channels come back once at the end. In f32,
 * where the host version is f64: on real activations the two pick the same channels (tests/quant/rotation.test.ts).
 */
export async function greedyRotationOn<T>(
  be: Backend<T>,
  X: T,
  n: number,
  maxSteps: number,
  rng: SeededRandom,
  refExchange = false,
): Promise<GreedyRotation> {
  const A = be.fromHost(Float32Array.from(spreadWithRandom(n, rng)), [n, n]);
  const peaksT = be.zeros([maxSteps + 1]);
  const chans = be.ids(new Uint32Array(Math.max(1, maxSteps)));
  let W = X;
  for (let step = 0; step < maxSteps; step++) {
    be.duquant.greedyPick(W, peaksT, chans, step, n, true, refExchange);
    const next = be.duquant.greedyApply(W, A, chans, step, n);
    if (W !== X) be.release(W);
    W = next;
  }
  be.duquant.greedyPick(W, peaksT, chans, maxSteps, n, false, refExchange);
  if (W !== X) be.release(W);
  const peaks = Array.from((await be.readMany([peaksT]))[0]);
  let steps = 0;
  for (let k = 1; k < peaks.length; k++) if (peaks[k] < peaks[steps]) steps = k;
  // the kept rotation: the first `steps` steps replayed on the identity
  let R = be.fromHost(Float32Array.from(identity(n)), [n, n]);
  for (let k = 0; k < steps; k++) {
    const next = be.duquant.greedyApply(R, A, chans, k, n);
    be.release(R);
    R = next;
  }
  const out = Float64Array.from((await be.readMany([R]))[0]);
  for (const t of [A, peaksT, R]) be.release(t);
  be.release(chans);
  return { R: out, steps, peaks };
}
