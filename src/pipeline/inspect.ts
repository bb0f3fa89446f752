// What the Inspect views ask of a model beyond a run's report:
//   activationMap: |activation| at one site of one block over the tokens of a calibration window (full-precision
//     model), max-pooled to a drawable grid;
//   weightView: a quantized layer next to its full-precision weights: value histograms, a crop of both matrices and
//     the relative error. The quantized layer comes from the cache, where every run leaves its finished blocks.
import { Gpu } from '../gpu/gpu.ts';
import { gpuBackend } from '../gpu/backend.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { calibrationText, sampleWindows } from '../eval/calibration.ts';
import type { TextReader } from '../eval/datasets.ts';
import { Decoder } from '../model/forward.ts';
import { loadModel } from '../model/load.ts';
import type { ModelSource } from '../model/source.ts';
import { readHostBlock, WeightStore } from '../model/weights.ts';
import type { ActSite } from '../model/taps.ts';
import { linearName, linearRoles, linearTensor, type LinearRole } from '../model/families.ts';
import { maxWindow, type ModelConfig } from '../model/config.ts';
import type { Checkpoint } from '../model/safetensors.ts';
import { readGptqLayer } from '../model/gptqCheckpoint.ts';
import { dequantizeGptq, unpackQweight, unpackQzeros } from '../model/gptqPacking.ts';
import { fromHalfBits } from '../gpu/half.ts';
import { gridCodes } from '../quant/grid.ts';
import { clipFractions } from '../quant/lwc.ts';
import { LabError } from '../errors.ts';
import type { QuantRecipe } from '../quant/recipe.ts';
import { siteTaps } from '../model/taps.ts';
import { METHODS, type TransformMethod } from '../quant/index.ts';
import type { LabCache } from './cache.ts';
import type { CachedBlock } from './quantizeModel.ts';

export interface ActivationMap {
  layer: number;
  site: ActSite;
  tokens: number;
  channels: number;
  /** the grid: rows × cols cells, each the max |x| of the tokens × channels it covers */
  rows: number;
  cols: number;
  data: Float32Array;
  /** each row's first token, decoded */
  tokenText: string[];
  /** channels shown in a reordered order */
  reordered: boolean;
}

/** Max-pools |X| [T, C] into at most maxRows × maxCols cells. */
export function poolAbs(
  X: Float32Array,
  T: number,
  C: number,
  maxRows: number,
  maxCols: number,
): { rows: number; cols: number; data: Float32Array } {
  const rows = Math.min(T, maxRows);
  const cols = Math.min(C, maxCols);
  const data = new Float32Array(rows * cols);
  for (let t = 0; t < T; t++) {
    const r = Math.floor((t * rows) / T);
    for (let c = 0; c < C; c++) {
      const i = r * cols + Math.floor((c * cols) / C);
      const v = Math.abs(X[t * C + c]);
      if (v > data[i]) data[i] = v;
    }
  }
  return { rows, cols, data };
}

export async function activationMap(
  source: ModelSource,
  readText: TextReader,
  r: QuantRecipe,
  layer: number,
  site: ActSite,
  opts: { tokens?: number; maxRows?: number; maxCols?: number; gpu?: Gpu; perm?: ArrayLike<number> } = {},
): Promise<ActivationMap> {
  const model = await loadModel(source);
  const cfg = model.config;
  if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.layers)
    throw new LabError(`block ${layer} does not exist; the model has blocks 0..${cfg.layers - 1}`);
  const T = Math.min(opts.tokens ?? 128, maxWindow(cfg));
  const [ids] = sampleWindows(model.tokenizer.encode(await calibrationText(r.calib, readText)), 1, T, r.seed);
  const gpu = opts.gpu ?? (await Gpu.create());
  const be = gpuBackend(gpu);
  const weights = new WeightStore(be, cfg, model.checkpoint, 1);
  try {
    const dec = new Decoder(be, cfg, weights);
    const h = await dec.embed(ids);
    const taps = siteTaps(cfg);
    let X: Float32Array | null = null;
    for (let i = 0; i <= layer; i++) {
      const block = await weights.block(i);
      await dec.block(i, h, block, async (l, point, t: GpuTensor) => {
        if (l === layer && taps[point] === site) X = await gpu.read(t);
      });
      weights.done(i, block);
    }
    be.release(h);
    const C = X!.length / T;
    // in a reordered view, channel i shows original channel perm[i]
    const p = opts.perm;
    const shown = p ? Float32Array.from({ length: T * C }, (_, i) => X![Math.floor(i / C) * C + p[i % C]]) : X!;
    const pooled = poolAbs(shown, T, C, opts.maxRows ?? 128, opts.maxCols ?? 512);
    const tokenText = Array.from({ length: pooled.rows }, (_, row) =>
      model.tokenizer.decode([ids[Math.floor((row * T) / pooled.rows)]]),
    );
    return { layer, site, tokens: T, channels: C, ...pooled, tokenText, reordered: !!p };
  } finally {
    weights.dispose();
    if (!opts.gpu) gpu.destroy();
  }
}

export interface WeightView {
  layer: number;
  linear: string;
  shape: [number, number];
  /** ‖W − Ŵ‖ / ‖W‖ */
  relError: number;
  /** distinct values per row, averaged (2^bits per group for a uniform grid) */
  levelsPerRow: number;
  histogram: { edges: number[]; fp: number[]; quant: number[] };
  /** the top-left crop of both matrices, row-major */
  crop: { rows: number; cols: number; fp: Float32Array; quant: Float32Array };
  /** the weight step's own detail of this layer, when it keeps one (CLAQ: column bits, codebooks, reserved values) */
  detail?: unknown;
  /** the uniform grid behind the layer (RTN, GPTQ runs; a GPTQ checkpoint): codes, group scales, zero points */
  grid?: GridView;
  /** the layer comes from a GPTQ checkpoint's packed tensors: there is no full precision to compare with */
  fromCheckpoint?: boolean;
  /** learnable weight clipping: σ(up), σ(low) of every (row, group), row-major, and the groups per row */
  clip?: { up: number[]; low: number[]; groups: number };
}

export interface GridView {
  bits: number;
  groups: number;
  /** how many weights hold each code 0..2^bits − 1 */
  codes: number[];
  /** each output row's group scales, the top-left crop [rows × groups] */
  scales: { rows: number; cols: number; data: Float32Array };
  /** how many (row, group) pairs hold each zero point 0..2^bits */
  zeros: number[];
  /** the groups follow act-order's permutation (g_idx is not k / group size) */
  actOrder: boolean;
  /** the groups are a transform's input clusters (RPTQ: one scale and zero per output row × cluster), not act-order */
  clusters?: boolean;
}

/** A layer's grid as the views draw it, from its codes [R, K] and (scale, zero) per row and group [R, G, 2]. */
export function gridView(
  codes: Uint8Array,
  params: Float32Array,
  gIdx: Uint32Array,
  maxq: number,
  R: number,
  K: number,
  crop = 64,
): GridView {
  const G = params.length / (2 * R);
  const counts = new Array<number>(maxq + 1).fill(0);
  for (const q of codes) counts[q]++;
  const zeros = new Array<number>(maxq + 2).fill(0);
  for (let i = 1; i < params.length; i += 2) zeros[Math.min(maxq + 1, Math.max(0, params[i]))]++;
  const rows = Math.min(R, crop);
  const cols = Math.min(G, crop * 2);
  const data = Float32Array.from(
    { length: rows * cols },
    (_, i) => params[(Math.floor(i / cols) * G + (i % cols)) * 2],
  );
  const g = K / G;
  return {
    bits: Math.log2(maxq + 1),
    groups: G,
    codes: counts,
    scales: { rows, cols, data },
    zeros,
    actOrder: gIdx.some((x, k) => x !== Math.floor(k / Math.ceil(g))),
  };
}

/** A GPTQ checkpoint's layer, unpacked on the host (the twin of the GPU's dequantization): weights, codes, grid. */
async function checkpointLayer(
  ckpt: Checkpoint,
  cfg: ModelConfig,
  layer: number,
  role: LinearRole,
): Promise<{ W: Float32Array; R: number; K: number; grid: GridView }> {
  const at = linearTensor(cfg, layer, role);
  const l = await readGptqLayer(ckpt, cfg.gptq!, at.module);
  const scales = fromHalfBits(l.scales, 'f16');
  const W = dequantizeGptq({ ...l, scales }, l.N, l.K, l.bits);
  const zeros = unpackQzeros(l.qzeros, l.groups, l.N, l.bits);
  // a fused module (Phi-3's qkv_proj) shows the layer's own rows
  const [r0, r1] = at.rows ?? [0, l.N];
  const R = r1 - r0;
  const params = new Float32Array(R * l.groups * 2);
  for (let n = r0; n < r1; n++)
    for (let g = 0; g < l.groups; g++) {
      params[((n - r0) * l.groups + g) * 2] = scales[g * l.N + n];
      params[((n - r0) * l.groups + g) * 2 + 1] = zeros[g * l.N + n];
    }
  const codes = unpackQweight(l.qweight, l.N, l.K, l.bits).slice(r0 * l.K, r1 * l.K);
  return {
    W: W.slice(r0 * l.K, r1 * l.K),
    R,
    K: l.K,
    grid: gridView(codes, params, l.gIdx, 2 ** l.bits - 1, R, l.K),
  };
}

/**
 * blockKey: where the run kept its finished blocks (QuantSummary.blockKey). Without one, a GPTQ checkpoint's layer is
 * shown from its packed tensors (its codes, group scales and zero points; the dequantized weights on both sides).
 */
export async function weightView(
  source: ModelSource,
  cache: LabCache,
  blockKey: string | undefined,
  layer: number,
  role: LinearRole,
  bins = 64,
  crop = 64,
): Promise<WeightView> {
  const model = await loadModel(source);
  const cfg = model.config;
  if (!linearRoles(cfg.family).includes(role)) throw new LabError(`${cfg.modelType} has no ${role} projection`);
  if (!blockKey && cfg.gptq) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= cfg.layers)
      throw new LabError(`block ${layer} does not exist; the model has blocks 0..${cfg.layers - 1}`);
    const { W, R, K, grid } = await checkpointLayer(model.checkpoint, cfg, layer, role);
    return {
      ...summarize(W, W, R, K, bins, crop),
      layer,
      linear: linearName(cfg.family, role),
      grid,
      fromCheckpoint: true,
    };
  }
  if (!blockKey)
    throw new LabError(
      'this run kept no quantized blocks in this browser (was storage full?), so its weights cannot be shown',
    );
  const cached = await cache.get<CachedBlock>(blockKey + layer);
  if (!cached)
    throw new LabError(
      `block ${layer} of this experiment is not in this browser's storage yet: run it first (finished blocks are kept)`,
    );
  // the full-precision weights as the quantizer saw them: the checkpoint's, with the transform's fold applied again
  const checkpointBlock = await readHostBlock(cfg, model.checkpoint, layer);
  const t = cached.transform;
  const fpBlock = t ? (METHODS[t.method] as TransformMethod).refold(checkpointBlock, t.fold, cfg) : checkpointBlock;
  const W = fpBlock.linears[role]!.W;
  const Q = cached.host.linears[role]!.W;
  const [R, K] = fpBlock.linears[role]!.shape;
  const name = linearName(cfg.family, role);
  const g = cached.grids?.[name];
  return {
    ...summarize(W, Q, R, K, bins, crop),
    layer,
    linear: name,
    detail: cached.weight?.[name],
    ...(cached.clipTraining?.bounds[name] ? { clip: clipOf(cached.clipTraining.bounds[name], R) } : {}),
    ...(g ? { grid: groupedBy(gridView(gridCodes(Q, g, R, K), g.params, g.gIdx, g.maxq, R, K), t?.method) } : {}),
  };
}

/** The learned clip fractions of a layer's bounds [R, groups, 2], for the view. */
function clipOf(bounds: Float32Array, R: number): NonNullable<WeightView['clip']> {
  const { up, low } = clipFractions(bounds);
  return { up: Array.from(up), low: Array.from(low), groups: up.length / R };
}

/** A grid whose groups a transform fixed (RPTQ's clusters) is not in act-order, whatever its g_idx looks like. */
function groupedBy(grid: GridView, transform: string | undefined): GridView {
  const m = transform ? METHODS[transform] : undefined;
  return m?.kind === 'transform' && m.fixesWeightGroups ? { ...grid, actOrder: false, clusters: true } : grid;
}

/** Histograms, error, levels and crops of a layer's full-precision W and quantized Q [R, K]. */
function summarize(
  W: Float32Array,
  Q: Float32Array,
  R: number,
  K: number,
  bins: number,
  crop: number,
): Omit<WeightView, 'layer' | 'linear'> {
  let num = 0;
  let den = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < W.length; i++) {
    num += (W[i] - Q[i]) ** 2;
    den += W[i] ** 2;
    lo = Math.min(lo, W[i], Q[i]);
    hi = Math.max(hi, W[i], Q[i]);
  }
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const count = (a: Float32Array) => {
    const h = new Array<number>(bins).fill(0);
    for (const v of a) h[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo || 1)) * bins))]++;
    return h;
  };
  let levels = 0;
  for (let row = 0; row < R; row++) levels += new Set(Q.subarray(row * K, row * K + K)).size;
  const cr = Math.min(R, crop);
  const cc = Math.min(K, crop * 2);
  const take = (a: Float32Array) =>
    Float32Array.from({ length: cr * cc }, (_, i) => a[Math.floor(i / cc) * K + (i % cc)]);
  return {
    shape: [R, K],
    relError: Math.sqrt(num / (den || 1)),
    levelsPerRow: levels / R,
    histogram: { edges, fp: count(W), quant: count(Q) },
    crop: { rows: cr, cols: cc, fp: take(W), quant: take(Q) },
  };
}
