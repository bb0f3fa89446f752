// GPTQ (Frantar et al. 2022), split like the reference code into collecting statistics (HessianAccumulator) and
// quantizing (gptq). The heavy parts are kernels on any backend (WGSL on WebGPU, their twins on the reference):
// Hessian accumulation, the per-block column loop and the lazy update; the factorization runs once per layer in f64
// on the CPU (linalg.ts). The method (GPTQ below) is what the pipeline calls, one layer at a time.
import { z } from 'zod';
import type { Backend } from '../gpu/backend.ts';
import { GPTQ_BLOCK } from '../gpu/reference.ts';
import { dampedFactor, type FactorChoice, type FactorRoute } from './factorization.ts';
import { fitColumnGroups } from './grid.ts';
import type { ColumnGroups, LayerGrid, WeightMethod } from './method.ts';
import { checkGroupsize, gptqLoopOptions, groupsizeOption, symOption, wbitsOption } from './weightOptions.ts';

const loop = gptqLoopOptions({ actOrder: false, trueSequential: false });
const options = z.strictObject({
  wbits: wbitsOption,
  groupsize: groupsizeOption,
  sym: symOption,
  actOrder: loop.actOrder,
  staticGroups: z.boolean().default(false).meta({
    flag: 'static-groups',
    label: 'static groups',
    description: 'fit every group up front on the original weights',
  }),
  trueSequential: loop.trueSequential,
  percdamp: loop.percdamp,
  blocksize: loop.blocksize,
  factorization: loop.factorization,
});
export type GptqOptions = z.infer<typeof options> & {
  /** fixed column groups of any shape (RPTQ: the input clusters), fitted up front on W like static groups */
  colGroups?: ColumnGroups;
};

/** H = (2/n) Σ xᵀx over all calibration tokens of one linear layer's input, accumulated batch by batch. */
export class HessianAccumulator<T> {
  readonly H: T; // [K, K]
  private n = 0;
  constructor(
    private readonly be: Backend<T>,
    readonly K: number,
  ) {
    this.H = be.zeros([K, K]);
  }
  /** X: [T, K] inputs of one window */
  add(X: T): void {
    const rows = this.be
      .shape(X)
      .slice(0, -1)
      .reduce((a, b) => a * b, 1);
    // H ← H·n/(n+T); x ← sqrt(2/(n+T))·X; H ← H + xᵀx
    this.be.gptq.hessian(X, this.H, this.n / (this.n + rows), 2 / (this.n + rows));
    this.n += rows;
  }
  get tokens(): number {
    return this.n;
  }
  async read(): Promise<Float64Array> {
    return Float64Array.from(await this.be.toHost(this.H));
  }
  dispose(): void {
    this.be.release(this.H);
  }
}

export interface GptqTimings {
  factorMs: number;
  loopMs: number;
  /** the factorization's route, and how auto chose it (once per run) */
  factorization: { route: FactorRoute; note?: string };
}

/**
 * Quantizes W [R, K] against the Hessian H [K, K] (modified in place: dead inputs, damping).
 * Returns the dequantized weights Q [R, K] in the original column order.
 */
export async function gptq<T>(
  be: Backend<T>,
  W: Float32Array,
  H: Float64Array,
  R: number,
  K: number,
  o: GptqOptions,
): Promise<{ Q: T; timings: GptqTimings; grid: LayerGrid }> {
  const maxq = 2 ** o.wbits - 1;
  const g = o.groupsize > 0 ? o.groupsize : K;
  const grid = { maxq, sym: o.sym, groupsize: g };
  const fixed = o.colGroups;
  const totalGroups = fixed ? fixed.groups : Math.ceil(K / g);
  W = W.slice();

  zeroDeadInputs(W, H, R, K);
  const params = be.fromHost(
    fixed
      ? fitColumnGroups(W, R, K, fixed.colGroup, fixed.groups, maxq, o.sym, fixed)
      : new Float32Array(R * totalGroups * 2),
    [R, totalGroups, 2],
  );
  if (o.staticGroups && o.groupsize > 0 && !fixed) {
    // every group fitted up front on the original W
    const W0 = be.fromHost(W, [R, K]);
    be.quantParams(W0, params, grid, 0, totalGroups);
    be.release(W0);
  }

  // act-order: columns by decreasing Hessian diagonal (stable on ties)
  let perm: Uint32Array | null = null;
  if (o.actOrder) ({ W, H, perm } = actOrder(W, H, R, K));
  // fixed and static groups keep the original column's group; otherwise groups run over the (permuted) column order
  const colGroup = fixed
    ? Uint32Array.from({ length: K }, (_, i) => fixed.colGroup[perm ? perm[i] : i])
    : Uint32Array.from({ length: K }, (_, i) => Math.floor((o.staticGroups && perm ? perm[i] : i) / g));

  const { U, Wg, Q, Err, factorMs, factorization } = await loopTensors(be, W, H, R, K, o.percdamp, o.factorization);
  const t1 = performance.now();
  const colGroupT = be.ids(colGroup);
  if (o.groupsize <= 0 && !fixed) be.quantParams(Wg, params, grid, 0, 1);
  for (let i1 = 0; i1 < K; i1 += o.blocksize) {
    const count = Math.min(o.blocksize, K - i1);
    if (o.groupsize > 0 && !o.staticGroups && !fixed) {
      // groups that start inside this block, fitted on W as the lazy updates left it
      const first = Math.ceil(i1 / g);
      const last = Math.floor((i1 + count - 1) / g);
      if (last >= first) be.quantParams(Wg, params, grid, first, last - first + 1);
    }
    be.gptq.gptqBlock(U, Wg, params, colGroupT, Q, Err, i1, count, maxq);
    be.gptq.gptqUpdate(U, Err, Wg, i1, count);
  }
  // the grid as a checkpoint keeps it: g_idx in the original column order
  const layerGrid: LayerGrid = { params: await be.toHost(params), gIdx: new Uint32Array(K), maxq, sym: o.sym };
  for (let i = 0; i < K; i++) layerGrid.gIdx[perm ? perm[i] : i] = colGroup[i];
  for (const t of [U, Wg, Err, params]) be.release(t);
  be.release(colGroupT);
  const out = await originalOrder(be, Q, perm, R, K);
  return { Q: out, timings: { factorMs, loopMs: performance.now() - t1, factorization }, grid: layerGrid };
}

/**
 * What the column loop works on, on the backend: U of the damped Hessian (timed), W, the output Q, a block's errors.
 */
export async function loopTensors<T>(
  be: Backend<T>,
  W: Float32Array,
  H: Float64Array,
  R: number,
  K: number,
  percdamp: number,
  choice: FactorChoice = 'auto',
): Promise<{ U: T; Wg: T; Q: T; Err: T; factorMs: number; factorization: { route: FactorRoute; note?: string } }> {
  const t0 = performance.now();
  const { U, route, note } = await dampedFactor(be, H, K, percdamp, choice);
  await be.sync();
  const factorMs = performance.now() - t0;
  return {
    U,
    Wg: be.fromHost(W, [R, K]),
    Q: be.zeros([R, K]),
    Err: be.zeros([R, GPTQ_BLOCK]),
    factorMs,
    factorization: { route, ...(note ? { note } : {}) },
  };
}

/** Dead inputs (H[d,d] = 0, never active in calibration): H[d,d] = 1 and W[:, d] = 0, in place. */
export function zeroDeadInputs(W: Float32Array, H: Float64Array, R: number, K: number): void {
  for (let d = 0; d < K; d++) {
    if (H[d * K + d] === 0) {
      H[d * K + d] = 1;
      for (let r = 0; r < R; r++) W[r * K + d] = 0;
    }
  }
}

/** act-order: columns by decreasing Hessian diagonal (stable on ties); W and H permuted to match. */
export function actOrder(
  W: Float32Array,
  H: Float64Array,
  R: number,
  K: number,
): { W: Float32Array; H: Float64Array; perm: Uint32Array } {
  const perm = Uint32Array.from({ length: K }, (_, i) => i).sort((a, b) => H[b * K + b] - H[a * K + a] || a - b);
  return { W: permuteColumns(W, R, K, perm), H: permuteSymmetric(H, K, perm), perm };
}

/** Q [R, K] in the quantization order back in the original column order (act-order), on the backend. */
export async function originalOrder<T>(
  be: Backend<T>,
  Q: T,
  perm: Uint32Array | null,
  R: number,
  K: number,
): Promise<T> {
  if (!perm) {
    await be.sync();
    return Q;
  }
  const out = permuteColumns(await be.toHost(Q), R, K, inversePermutation(perm));
  be.release(Q);
  return be.fromHost(out, [R, K]);
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

export const GPTQ: WeightMethod<typeof options> = {
  kind: 'weight',
  name: 'gptq',
  uniformGrid: true,
  seedFlag: 'wbits',
  title: 'GPTQ',
  summary: 'second-order weight quantization: column by column, the error fed back through the inverse Hessian',
  options,
  groupOptions: ['groupsize', 'staticGroups'],
  check: (o, ctx) => checkGroupsize(o.groupsize, o.staticGroups, ctx, o.sym),
  describe(o) {
    const flags = [
      o.actOrder && 'act-order',
      o.staticGroups && 'static groups',
      o.trueSequential && 'true-sequential',
      o.sym && 'sym',
    ].filter(Boolean);
    return `damp ${o.percdamp} block ${o.blocksize}${flags.length ? ' ' + flags.join(' ') : ''}`;
  },
  label: (o) => `W${o.wbits}${o.groupsize > 0 ? ` g${o.groupsize}` : ''}`,
  needsHessian: () => true,
  sequential: (o) => o.trueSequential,
  codeBits: (o) => o.wbits,
  groups: (o, K, fixed) => fixed?.groups ?? (o.groupsize > 0 ? Math.ceil(K / o.groupsize) : 1),
  async quantize(be, layer, o) {
    const [R, K] = layer.shape;
    const { Q, timings, grid } = await gptq(be, layer.W, layer.H!, R, K, { ...o, colGroups: layer.groups });
    return { Q, ...timings, grid };
  },
  presets: [
    { label: 'GPTQ W4 g128', steps: [{ method: 'gptq', wbits: 4, groupsize: 128 }] },
    { label: 'GPTQ W3 g128', steps: [{ method: 'gptq', wbits: 3, groupsize: 128 }] },
  ],
};
