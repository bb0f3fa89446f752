// CLAQ (Wang et al. 2024): GPTQ's column loop with a codebook per column. For one linear layer:
//   1. dead inputs zeroed; act-order (columns by decreasing Hessian diagonal)
//   2. outliers per column: entries with |w| ≥ 13·mean|W|, counted now (after act-order, before any update)
//   3. adaptive precision (--outlierorder B): the columns with the most outliers get 4 bits, the rest 2 (B < 3) or
//      3 bits, so that the codes average B
//   4. outlier reservation (--outlier_col_dynamic): the top 10% of columns by outliers keep a ratio 0.014 of their
//      largest and of their smallest values in full precision, the others 0.004
//   5. U = chol(H⁻¹)ᵀ of the damped Hessian, then block by block the column loop (claqBlock.wgsl): each column, as
//      the feedback left it, is clustered into 2^bits centroids by 1-D k-means; weights go to their nearest centroid
//      (reserved ones stay as they are) and the error (w − q)/U[i,i] feeds the columns after it, exactly as in GPTQ
//   6. the exact bits per weight: codes, one f16 codebook per column, each reserved value as f16 plus its row index
import { z } from 'zod';
import type { Backend } from '../gpu/backend.ts';
import { CLAQ_BOOK, CLAQ_MAXK, roundEven } from '../gpu/reference.ts';
import { actOrder, inversePermutation, loopTensors, originalOrder, zeroDeadInputs } from './gptq.ts';
import type { WeightMethod } from './method.ts';
import type { FactorRoute } from './factorization.ts';
import { gptqLoopOptions } from './weightOptions.ts';

/** Lloyd's step limit (scikit-learn's max_iter, which the reference's KMeans uses) */
export const LLOYD_MAX_ITER = 300;
/** an outlier is an entry with |w| ≥ OUTLIER_T·mean|W| */
export const OUTLIER_T = 13;
/** outlier reservation: the share of columns (by outlier count) that keep the larger ratio, and the two ratios */
export const RESERVE_TOP = 0.1;
export const RESERVE_RATIO = { top: 0.014, rest: 0.004 } as const;
const HIST_BINS = 32;

const loop = gptqLoopOptions({ actOrder: true, trueSequential: true });
const options = z.strictObject({
  wbits: z.number().int().min(1).max(4).default(4).meta({
    flag: 'wbits',
    label: 'wbits',
    description: 'bits per code: a codebook of 2^wbits centroids per column',
    range: 'an integer from 1 to 4 (a column codebook holds at most 16 centroids)',
  }),
  outlierorder: z
    .number()
    .min(2)
    .max(4)
    .optional()
    .meta({
      flag: 'outlierorder',
      label: 'adaptive bits',
      description:
        'adaptive precision: codes average this many bits; ' +
        'the columns with the most outliers get 4, the rest 2 (below 3) or 3',
      fallback: 'wbits for every column',
      range: 'a number from 2 to 4',
    }),
  outlierColDynamic: z
    .boolean()
    .default(false)
    .meta({
      flag: 'outlier_col_dynamic',
      label: 'outlier reservation',
      description:
        "keep each column's largest and smallest values in full precision " +
        '(1.4% each in the 10% of columns with most outliers, 0.4% elsewhere)',
    }),
  refOutlierIndex: z.boolean().default(false).meta({
    flag: 'claq_ref_outlier_index',
    label: 'reference outlier index',
    description:
      "[ref] a column's reservation ratio read by its index inside the 128-column block, as the reference code does",
  }),
  actOrder: loop.actOrder,
  trueSequential: loop.trueSequential,
  percdamp: loop.percdamp,
  blocksize: loop.blocksize,
  factorization: loop.factorization,
});
export type ClaqOptions = z.infer<typeof options>;

/** Per-layer detail for the Inspect view, every per-column array in the layer's original column order. */
export interface ClaqLayerDetail {
  rows: number;
  cols: number;
  /** bits of the whole layer: codes, codebooks, reserved values (f16 value + row index) */
  parts: { codes: number; codebooks: number; outliers: number };
  colBits: number[];
  /** entries with |w| ≥ 13·mean|W| */
  outliers: number[];
  /** values kept in full precision */
  kept: number[];
  codebooks: number[][];
  /** the column as it was clustered (after the feedback of the columns before it): its range and a histogram */
  hist: { lo: number; hi: number; counts: number[] }[];
  lloydSteps: number[];
}

export interface ClaqResult<T> {
  Q: T;
  bits: number;
  codeBits: number;
  detail: ClaqLayerDetail;
  factorMs: number;
  loopMs: number;
  factorization: { route: FactorRoute; note?: string };
}

/** Outlier entries of each column: |w| ≥ t·mean|W| over the whole matrix (the reference: not (−tm < w < tm)). */
export function outlierCounts(W: Float32Array, R: number, K: number, t = OUTLIER_T): Uint32Array {
  let sum = 0;
  for (const w of W) sum += Math.abs(w);
  const m = Math.fround(Math.fround(sum / W.length) * t);
  const counts = new Uint32Array(K);
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) if (!(W[r * K + c] > -m && W[r * K + c] < m)) counts[c]++;
  return counts;
}

/** Columns by decreasing outlier count (ties: the earlier column first). */
export function rankByOutliers(counts: Uint32Array): Uint32Array {
  return Uint32Array.from({ length: counts.length }, (_, i) => i).sort((a, b) => counts[b] - counts[a] || a - b);
}

/** Adaptive precision: each column's bits for an average of B (Python's round, as the reference's). */
export function adaptiveBits(counts: Uint32Array, B: number): Uint8Array {
  const K = counts.length;
  const share = B < 3 ? (B - 2) / 2 : B - 3;
  const top = roundEven(K * share);
  const bits = new Uint8Array(K).fill(B < 3 ? 2 : 3);
  rankByOutliers(counts)
    .subarray(0, top)
    .forEach((c) => (bits[c] = 4));
  return bits;
}

/** Outlier reservation: each column's ratio (0.014 for the top 10% by outlier count, 0.004 for the rest). */
export function reserveRatios(counts: Uint32Array): Float64Array {
  const K = counts.length;
  const ratio = new Float64Array(K).fill(RESERVE_RATIO.rest);
  rankByOutliers(counts)
    .subarray(0, roundEven(K * RESERVE_TOP))
    .forEach((c) => (ratio[c] = RESERVE_RATIO.top));
  return ratio;
}

/**
 * The descending ranks whose values bound what a column keeps (the reference's quantize_outlier): values ≥ the one at
 * rank round(R·r) and values ≤ the one at rank round(R·(1 − r)), clamped to the column.
 */
export function reserveRanks(R: number, r: number): [number, number] {
  return [Math.min(roundEven(R * r), R - 1), Math.min(roundEven(R * (1 - r)), R - 1)];
}

/** Bits of f16 values, and of a reserved value's row index among R rows. */
const F16 = 16;
export const indexBits = (R: number) => Math.max(1, Math.ceil(Math.log2(R)));

/** The exact storage of a layer: codes at each column's width, a 2^bits f16 codebook per column, reserved values. */
export function claqBits(R: number, colBits: ArrayLike<number>, kept: ArrayLike<number>): ClaqLayerDetail['parts'] {
  let codes = 0;
  let codebooks = 0;
  let outliers = 0;
  for (let c = 0; c < colBits.length; c++) {
    codes += colBits[c] * R;
    codebooks += 2 ** colBits[c] * F16;
    outliers += kept[c] * (F16 + indexBits(R));
  }
  return { codes, codebooks, outliers };
}

/**
 * Quantizes W [R, K] against the Hessian H [K, K] (modified in place). Q [R, K] comes back in the original column order
 * with the layer's exact bits per weight and the per-column detail.
 */
export async function claq<T>(
  be: Backend<T>,
  W: Float32Array,
  H: Float64Array,
  R: number,
  K: number,
  o: ClaqOptions,
  seed: number,
  fit = true,
): Promise<ClaqResult<T>> {
  const maxBits = o.outlierorder !== undefined ? 4 : o.wbits;
  if (R < 2 ** maxBits)
    throw new Error(`CLAQ: a column of ${R} rows cannot fill a codebook of ${2 ** maxBits} centroids`);
  W = W.slice();
  zeroDeadInputs(W, H, R, K);
  let perm: Uint32Array | null = null;
  if (o.actOrder) ({ W, H, perm } = actOrder(W, H, R, K));
  const counts = outlierCounts(W, R, K);
  const colBits = o.outlierorder !== undefined ? adaptiveBits(counts, o.outlierorder) : new Uint8Array(K).fill(o.wbits);
  const ratios = o.outlierColDynamic ? reserveRatios(counts) : null;
  const colInfo = new Uint32Array(K * 4);
  for (let c = 0; c < K; c++) {
    colInfo[c * 4] = colBits[c];
    if (!ratios) continue;
    // [ref] the reference reads the ratio of the column at the same place in the first block
    const ratio = ratios[o.refOutlierIndex ? c % o.blocksize : c];
    const [hi, lo] = reserveRanks(R, ratio);
    colInfo.set([1, hi, lo], c * 4 + 1);
  }

  const { U, Wg, Q, Err, factorMs, factorization } = await loopTensors(be, W, H, R, K, o.percdamp, o.factorization);
  const t1 = performance.now();
  const book = be.zeros([K, CLAQ_BOOK]);
  const Wfit = be.zeros([R, K]);
  const scratch = be.zeros([R]);
  const info = be.ids(colInfo);
  for (let i1 = 0; i1 < K; i1 += o.blocksize) {
    const count = Math.min(o.blocksize, K - i1);
    be.claq.claqBlock(U, Wg, info, Q, Err, book, Wfit, scratch, i1, count, seed, LLOYD_MAX_ITER, fit);
    be.gptq.gptqUpdate(U, Err, Wg, i1, count);
  }
  const [bookHost, fitted] = await be.readMany([book, Wfit]);
  for (const t of [U, Wg, Err, book, Wfit, scratch]) be.release(t);
  be.release(info);
  const out = await originalOrder(be, Q, perm, R, K);
  const loopMs = performance.now() - t1;

  // per-column detail, back in the original column order
  const pos = perm ? inversePermutation(perm) : Uint32Array.from({ length: K }, (_, i) => i);
  const at = (orig: number) => pos[orig];
  const kept = Array.from({ length: K }, (_, c) => bookHost[at(c) * CLAQ_BOOK + CLAQ_MAXK]);
  const bitsOrig = Array.from({ length: K }, (_, c) => colBits[at(c)]);
  const parts = claqBits(R, bitsOrig, kept);
  const detail: ClaqLayerDetail = {
    rows: R,
    cols: K,
    parts,
    colBits: bitsOrig,
    outliers: Array.from({ length: K }, (_, c) => counts[at(c)]),
    kept,
    codebooks: Array.from({ length: K }, (_, c) =>
      Array.from(bookHost.subarray(at(c) * CLAQ_BOOK, at(c) * CLAQ_BOOK + 2 ** colBits[at(c)])),
    ),
    hist: Array.from({ length: K }, (_, c) => histogram(fitted, R, K, at(c))),
    lloydSteps: Array.from({ length: K }, (_, c) => bookHost[at(c) * CLAQ_BOOK + CLAQ_MAXK + 1]),
  };
  const total = parts.codes + parts.codebooks + parts.outliers;
  return { Q: out, bits: total / (R * K), codeBits: parts.codes / (R * K), detail, factorMs, loopMs, factorization };
}

function histogram(W: Float32Array, R: number, K: number, col: number): ClaqLayerDetail['hist'][number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let r = 0; r < R; r++) {
    lo = Math.min(lo, W[r * K + col]);
    hi = Math.max(hi, W[r * K + col]);
  }
  const counts = new Array<number>(HIST_BINS).fill(0);
  for (let r = 0; r < R; r++)
    counts[Math.min(HIST_BINS - 1, Math.floor(((W[r * K + col] - lo) / (hi - lo || 1)) * HIST_BINS))]++;
  return { lo, hi, counts };
}

/** A preset sets every CLAQ switch, so one preset never inherits another's (presets merge over the form's options). */
const preset = (label: string, o: Partial<ClaqOptions>) => ({
  label,
  steps: [{ method: 'claq', outlierorder: undefined, outlierColDynamic: false, refOutlierIndex: false, ...o }],
});

export const CLAQ: WeightMethod<typeof options> = {
  kind: 'weight',
  name: 'claq',
  title: 'CLAQ',
  summary: "GPTQ's column loop with a k-means codebook per column; adaptive precision and outlier reservation",
  options,
  groupOptions: [],
  check(o, ctx) {
    if (o.refOutlierIndex && !o.outlierColDynamic)
      ctx.bad('--claq_ref_outlier_index changes outlier reservation: it needs --outlier_col_dynamic');
    const rows =
      ctx.cfg &&
      Math.min(ctx.cfg.hidden, ctx.cfg.heads * ctx.cfg.headDim, ctx.cfg.kvHeads * ctx.cfg.headDim, ctx.cfg.ffn);
    const maxBits = o.outlierorder !== undefined ? 4 : o.wbits;
    if (rows !== undefined && rows < 2 ** maxBits)
      ctx.bad(
        `--wbits ${maxBits}: a codebook of ${2 ** maxBits} centroids needs columns of at least that many rows ` +
          `(the model's narrowest layer has ${rows})`,
      );
  },
  describe(o) {
    const flags = [
      o.outlierColDynamic && 'outlier reservation',
      o.refOutlierIndex && 'ref outlier index',
      o.actOrder && 'act-order',
      o.trueSequential && 'true-sequential',
    ].filter(Boolean);
    return `damp ${o.percdamp} block ${o.blocksize}${flags.length ? ' ' + flags.join(' ') : ''}`;
  },
  label: (o) => `W${o.outlierorder ?? o.wbits}${o.outlierColDynamic ? ' +outliers' : ''}`,
  needsHessian: () => true,
  sequential: (o) => o.trueSequential,
  codeBits: (o) => o.outlierorder ?? o.wbits,
  groups: () => 0,
  async quantize(be, layer, o) {
    const [R, K] = layer.shape;
    const res = await claq(be, layer.W, layer.H!, R, K, o, layer.seed);
    return {
      Q: res.Q,
      factorMs: res.factorMs,
      loopMs: res.loopMs,
      factorization: res.factorization,
      bits: res.bits,
      codeBits: res.codeBits,
      detail: res.detail,
    };
  },
  // the baseline the paper compares with: GPTQ at the codes' bits (whole bits), same loop settings
  baselines: (o) => [
    {
      name: 'gptq',
      method: 'gptq',
      options: {
        wbits: Math.max(2, Math.round(o.outlierorder ?? o.wbits)),
        actOrder: o.actOrder,
        trueSequential: o.trueSequential,
        percdamp: o.percdamp,
        blocksize: o.blocksize,
        factorization: o.factorization,
      },
    },
  ],
  presets: [
    preset('CLAQ W4', { wbits: 4 }),
    preset('CLAQ W3', { wbits: 3 }),
    preset('CLAQ W2', { wbits: 2 }),
    preset('CLAQ 2.1-bit adaptive', { wbits: 2, outlierorder: 2.1 }),
    preset('CLAQ 3.12-bit adaptive', { wbits: 3, outlierorder: 3.12 }),
    preset('CLAQ W2 + outlier reservation', { wbits: 2, outlierColDynamic: true }),
    preset('CLAQ 2.12-bit adaptive + outliers', { wbits: 2, outlierorder: 2.05, outlierColDynamic: true }),
  ],
};
