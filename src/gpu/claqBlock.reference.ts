// The twin of shaders/claqBlock.wgsl: CLAQ's column loop over one block, operation by operation in f32 (Math.fround
// after every step) and with the kernel's summation order (a chunk of rows per thread, then the threads in order), so
// the same seed gives the same codebooks and assignments on the CPU as on the GPU. Read the kernel's header for the
// algorithm; this file only mirrors it.
import type { CpuTensor } from './reference.ts';

const f = Math.fround;
/** the kernel's constants, which the twin mirrors (tests/gpu checks them against claqBlock.wgsl): threads in its one
 * workgroup (each sums a chunk of rows), the largest codebook, a column's book row (the centroids, then the reserved
 * count and the Lloyd steps), and Err's row stride (GPTQ_BLOCK's: gptqUpdate reads the same Err) */
export const CLAQ_WG = 64;
export const CLAQ_MAXK = 16;
export const CLAQ_BOOK = 20;
export const CLAQ_BLOCK = 128;
const WG = CLAQ_WG;
const MAXK = CLAQ_MAXK;
const BLOCK = CLAQ_BLOCK;
const BIG = f(3.4e38);
const TOL = f(1e-4);

function pcg(v: number): number {
  const s = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
  return ((w >>> 22) ^ w) >>> 0;
}

/** draw n of the kernel's seeded stream, uniform in [0, 1) */
export function claqUniform(seed: number, n: number): number {
  return (pcg((pcg(seed) ^ n) >>> 0) >>> 8) / 16777216;
}

const bits = new Uint32Array(1);
const real = new Float32Array(bits.buffer);
function key(x: number): number {
  real[0] = x;
  const b = bits[0];
  return (b & 0x80000000 ? ~b : b | 0x80000000) >>> 0;
}
function unkey(k: number): number {
  bits[0] = k & 0x80000000 ? k & 0x7fffffff : ~k;
  return real[0];
}

export function claqBlock(
  U: CpuTensor,
  W: CpuTensor,
  colInfo: Uint32Array,
  Q: CpuTensor,
  Err: CpuTensor,
  book: CpuTensor,
  Wfit: CpuTensor,
  _scratch: CpuTensor, // the kernel's working memory (closest distances, labels): the twin keeps its own
  i1: number,
  count: number,
  seed: number,
  maxIter: number,
  fit: boolean,
): void {
  const [R, K] = W.shape;
  const size = Math.ceil(R / WG);
  const chunks = Array.from({ length: WG }, (_, t) => {
    const a = Math.min(t * size, R);
    return [a, Math.min(a + size, R)] as const;
  });
  /** Σ over threads of each thread's chunk sum (the chunk summed in row order) */
  const total = (term: (r: number) => number): number => {
    let s = 0;
    for (const [a, b] of chunks) {
      let c = 0;
      for (let r = a; r < b; r++) c = f(c + term(r));
      s = f(s + c);
    }
    return s;
  };
  const count32 = (test: (r: number) => boolean): number => {
    let n = 0;
    for (let r = 0; r < R; r++) if (test(r)) n++;
    return n;
  };
  const w = new Float32Array(R);
  const closest = new Float32Array(R);
  const label = new Uint32Array(R);
  const cent = new Float32Array(MAXK);

  const searchsorted = (v: number): number => {
    let acc = 0;
    let found = R - 1;
    const prefix = chunks.map(([a, b]) => {
      let c = 0;
      for (let r = a; r < b; r++) c = f(c + closest[r]);
      const start = acc;
      acc = f(acc + c);
      return start;
    });
    chunks.forEach(([a, b], t) => {
      let s = prefix[t];
      for (let r = a; r < b; r++) {
        s = f(s + closest[r]);
        if (s >= v) {
          found = Math.min(found, r);
          break;
        }
      }
    });
    return found;
  };

  const seedCodebook = (k: number) => {
    const nTrials = 2 + Math.floor(Math.log(k));
    let draw = 0;
    const first = Math.min(Math.floor(f(claqUniform(seed, draw++) * R)), R - 1);
    cent[0] = w[first];
    for (let r = 0; r < R; r++) closest[r] = f(f(w[r] - cent[0]) * f(w[r] - cent[0]));
    let pot = total((r) => closest[r]);
    for (let c = 1; c < k; c++) {
      let bestPot = BIG;
      let bestRow = 0;
      for (let trial = 0; trial < nTrials; trial++) {
        const id = searchsorted(f(claqUniform(seed, draw++) * pot));
        const x = w[id];
        const candPot = total((r) => Math.min(closest[r], f(f(w[r] - x) * f(w[r] - x))));
        if (candPot < bestPot) {
          bestPot = candPot;
          bestRow = id;
        }
      }
      const x = w[bestRow];
      for (let r = 0; r < R; r++) closest[r] = Math.min(closest[r], f(f(w[r] - x) * f(w[r] - x)));
      pot = bestPot;
      cent[c] = x;
    }
  };

  const lloyd = (k: number, tol: number): number => {
    label.fill(0xffffffff);
    let steps = 0;
    const sums = new Float32Array(MAXK * WG);
    const counts = new Float32Array(MAXK * WG);
    while (steps < maxIter) {
      sums.fill(0);
      counts.fill(0);
      let changed = false;
      chunks.forEach(([a, b], t) => {
        for (let r = a; r < b; r++) {
          let best = 0;
          let bd = f(f(w[r] - cent[0]) * f(w[r] - cent[0]));
          for (let j = 1; j < k; j++) {
            const d = f(f(w[r] - cent[j]) * f(w[r] - cent[j]));
            if (d < bd) {
              bd = d;
              best = j;
            }
          }
          sums[best * WG + t] = f(sums[best * WG + t] + w[r]);
          counts[best * WG + t] += 1;
          if (label[r] !== best) changed = true;
          label[r] = best;
        }
      });
      let shift = 0;
      for (let j = 0; j < k; j++) {
        let s = 0;
        let n = 0;
        for (let t = 0; t < WG; t++) {
          s = f(s + sums[j * WG + t]);
          n = f(n + counts[j * WG + t]);
        }
        const old = cent[j];
        const next = n > 0 ? f(s / n) : old;
        shift = f(shift + f(f(next - old) * f(next - old)));
        cent[j] = next;
      }
      steps++;
      if (!changed || shift <= tol) break;
    }
    return steps;
  };

  /** the value at descending rank `rank`: the largest key t with count(key ≥ t) > rank, by bisection */
  const descendingRank = (rank: number): number => {
    const keys = Uint32Array.from(w, key);
    let lo = 0;
    let hi = 0xffffffff;
    for (let b = 0; b < 32; b++) {
      const mid = lo + Math.ceil((hi - lo) / 2);
      if (count32((r) => keys[r] >= mid) > rank) lo = mid;
      else hi = mid - 1;
    }
    return unkey(lo);
  };

  for (let i = 0; i < count; i++) {
    const col = i1 + i;
    const [wbits, reserve, hiRank, loRank] = colInfo.subarray(col * 4, col * 4 + 4);
    const k = 1 << wbits;
    for (let r = 0; r < R; r++) {
      let x = W.data[r * K + col];
      for (let j = 0; j < i; j++) x = f(x - f(Err.data[r * BLOCK + j] * U.data[(i1 + j) * K + col]));
      w[r] = x;
      Wfit.data[r * K + col] = x;
    }
    const mean = f(total((r) => w[r]) / R);
    const tol = f(f(total((r) => f(f(w[r] - mean) * f(w[r] - mean))) / R) * TOL);
    let steps = 0;
    if (fit) {
      seedCodebook(k);
      steps = lloyd(k, tol);
    } else {
      for (let t = 0; t < k; t++) cent[t] = w[Math.floor((t * R) / k)];
    }
    let hiV = BIG;
    let loV = -BIG;
    if (reserve) {
      const hi = descendingRank(hiRank);
      const lo = descendingRank(loRank);
      if (hi > lo) [hiV, loV] = [hi, lo];
    }
    const d = U.data[col * K + col];
    let kept = 0;
    for (let r = 0; r < R; r++) {
      let q = cent[0];
      let bd = Math.abs(f(w[r] - cent[0]));
      for (let j = 1; j < k; j++) {
        const e = Math.abs(f(w[r] - cent[j]));
        if (e < bd) {
          bd = e;
          q = cent[j];
        }
      }
      if (w[r] >= hiV || w[r] <= loV) {
        q = w[r];
        kept++;
      }
      Q.data[r * K + col] = q;
      Err.data[r * BLOCK + i] = f(f(w[r] - q) / d);
    }
    for (let j = 0; j < MAXK; j++) book.data[col * CLAQ_BOOK + j] = j < k ? cent[j] : 0;
    book.data[col * CLAQ_BOOK + MAXK] = kept;
    book.data[col * CLAQ_BOOK + MAXK + 1] = steps;
  }
}
