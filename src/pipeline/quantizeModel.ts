// Sequential block processing (GPTQ protocol): block i is calibrated on the outputs of the already-quantized blocks
// 0..i−1. Its inputs are captured once through the forward pass's hook points; memory holds one block plus its
// calibration activations. With true-sequential, each group of layers (q/k/v → out → fc1/gate+up → fc2/down) is
// quantized on inputs recomputed after the previous group. RPTQ first clusters and reorders the block's channels,
// quantizes the weights with per-cluster groups, then turns on its activation quantizers for the block's outputs.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { linearName, linearRoles, type LinearRole } from '../model/architecture.ts';
import type { Family } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import { uploadActQuant, type ActSite, type BlockWeights, type HostBlock, type WeightStore } from '../model/weights.ts';
import { CancelledError } from '../errors.ts';
import { gptq, HessianAccumulator } from '../quant/gptq.ts';
import { gpuSteps } from '../quant/kmeans.ts';
import { reorderBlock } from '../quant/reorder.ts';
import { rtn } from '../quant/rtn.ts';
import { rptqOptions, type QuantRecipe } from '../quant/recipe.ts';
import { CLUSTERINGS, planRptq, siteBits, type Clustering, type RptqOptions, type RptqPlan, type SiteQuant, type SiteReport } from '../quant/rptq.ts';
import { collectSiteRanges, rangeReports, SiteRangeCollector, siteErrors, sumPairs } from './activationStats.ts';
import type { LayerReport, QuantSummary } from './types.ts';

/** true-sequential order inside a block */
function sequentialGroups(family: Family): LinearRole[][] {
  return family === 'llama' ? [['q', 'k', 'v'], ['o'], ['gate', 'up'], ['down']] : [['q', 'k', 'v'], ['o'], ['up'], ['down']];
}

/** A finished block as the cache keeps it: quantized weights (and activation quantizers) plus its reports. */
export interface CachedBlock {
  host: HostBlock;
  layers: LayerReport[];
  sites?: SiteReport[];
}

export interface BlockCache {
  /** the key prefix of this recipe's blocks (the Inspect views read a finished block back by it) */
  key: string;
  load(layer: number): Promise<CachedBlock | undefined>;
  save(layer: number, block: CachedBlock): Promise<void>;
}

export interface QuantizeContext {
  gpu: Gpu;
  decoder: Decoder<GpuTensor>;
  weights: WeightStore<GpuTensor>;
  /** `fromCache`: the block was restored, not recomputed */
  onBlock?: (done: number, total: number, layers: LayerReport[], fromCache: boolean) => void;
  signal?: AbortSignal;
  /** finished blocks from an earlier run of the same recipe are restored instead of recomputed */
  cache?: BlockCache;
}

export async function quantizeModel(r: QuantRecipe, calib: Uint32Array[], ctx: QuantizeContext): Promise<QuantSummary> {
  const { gpu, decoder, weights } = ctx;
  const cfg = decoder.cfg;
  const be = decoder.be;
  const roles = linearRoles(cfg.family);
  const weightMethod = r.method === 'rptq' ? (r.wbits < 16 ? 'gptq' : null) : r.method;
  const groups = weightMethod === 'gptq' && r.trueSequential ? sequentialGroups(cfg.family) : [roles];
  const summary: QuantSummary = { method: r.method, layers: [], hessianMs: 0, factorMs: 0, loopMs: 0, totalMs: 0, calibrationTokens: 0 };
  if (ctx.cache) summary.blockKey = ctx.cache.key;
  const t0 = performance.now();
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new CancelledError('quantization cancelled');
  };

  const inps: GpuTensor[] = [];
  for (const w of calib) inps.push(await decoder.embed(w));
  summary.calibrationTokens = calib.length * (calib[0]?.length ?? 0);

  for (let layer = 0; layer < cfg.layers; layer++) {
    checkCancel();
    const cached = await ctx.cache?.load(layer);
    if (cached) {
      // restored: the block only has to produce the next block's inputs
      const block = weights.upload(cached.host);
      weights.replace(layer, block);
      for (const x of inps) await decoder.block(layer, x, block);
      summary.layers.push(...cached.layers);
      if (cached.sites) (summary.activations ??= []).push(...cached.sites);
      summary.cachedBlocks = (summary.cachedBlocks ?? 0) + 1;
      ctx.onBlock?.(layer + 1, cfg.layers, summary.layers, true);
      continue;
    }
    let block = await weights.block(layer);
    // the full-precision weights: GPTQ's input and the reference of the output error
    let host = await weights.hostBlock(layer);
    let plan: RptqPlan | null = null;
    if (r.method === 'rptq') {
      const t = performance.now();
      plan = await rptqBlock(gpu, decoder, layer, block, inps, rptqOptions(r));
      summary.activations ??= [];
      summary.activations.push(...plan.sites);
      // the reorder folded into the weights; activations stay in full precision until the weights are quantized
      host = reorderBlock(host, plan.reorder, cfg);
      block = weights.upload(host);
      weights.replace(layer, block);
      summary.statsMs = (summary.statsMs ?? 0) + performance.now() - t;
    }
    const started = new Map<LinearRole, number>();

    for (const group of weightMethod ? groups : []) {
      checkCancel();
      if (weightMethod === 'rtn') {
        for (const role of group) {
          const t = performance.now();
          const lin = block.linears[role]!;
          const Q = rtn(gpu, lin.W, r.wbits, r.groupsize, r.sym);
          be.release(lin.W);
          lin.W = Q;
          started.set(role, performance.now() - t);
        }
        continue;
      }
      // GPTQ: one calibration pass collects the Hessian of every layer in the group
      const tH = performance.now();
      const accs = new Map<string, { role: LinearRole; acc: HessianAccumulator }>();
      for (const role of group) accs.set(`${linearName(cfg.family, role)}.in`, { role, acc: new HessianAccumulator(gpu, block.linears[role]!.W.shape[1]) });
      for (const x of inps) {
        const h = be.rows(x, 0, x.shape[0]);
        await decoder.block(layer, h, block, (_, point, t) => accs.get(point)?.acc.add(t));
        be.release(h);
      }
      await gpu.sync();
      summary.hessianMs += performance.now() - tH;
      for (const { role, acc } of accs.values()) {
        const t = performance.now();
        const lin = block.linears[role]!;
        const [R, K] = lin.W.shape;
        const H = await acc.read();
        acc.dispose();
        const { Q, timings } = await gptq(gpu, host.linears[role]!.W, H, R, K, { ...r, colGroups: plan?.inputGroups[role] });
        summary.factorMs += timings.factorMs;
        summary.loopMs += timings.loopMs;
        be.release(lin.W);
        lin.W = gpu.upload(Q, [R, K], `${linearName(cfg.family, role)}.Q`);
        started.set(role, performance.now() - t);
      }
    }
    if (plan) {
      // from here on the block quantizes its activations
      block.act = uploadActQuant(be, plan.act);
      block.probLevels = plan.probLevels;
    }

    // outputs of the quantized block feed block layer + 1; the same pass measures each layer's output error
    const layers: LayerReport[] = [];
    const err = new Map<string, { role: LinearRole; num: number; den: number; fpW: GpuTensor; sums: GpuTensor[] }>();
    for (const role of roles) {
      const [R, K] = block.linears[role]!.W.shape;
      err.set(`${linearName(cfg.family, role)}.in`, { role, num: 0, den: 0, fpW: gpu.upload(host.linears[role]!.W, [R, K]), sums: [] });
    }
    // without RPTQ's statistics, the same pass records each site's channel ranges for the Inspect views
    const ranges = plan ? null : new SiteRangeCollector(gpu, cfg);
    for (const x of inps) {
      // recorded, not read: the sums come back in one go after the pass, with no sync inside the forward
      await decoder.block(layer, x, block, (_, point, X) => {
        ranges?.add(point, X);
        const e = err.get(point);
        if (!e) return;
        const yq = ops.matmul(gpu, X, block.linears[e.role]!.W, null);
        const yf = ops.matmul(gpu, X, e.fpW, null);
        e.sums.push(ops.outputError(gpu, yq, yf));
        gpu.release(yq);
        gpu.release(yf);
      });
    }
    for (const e of err.values()) {
      [e.num, e.den] = sumPairs(await gpu.readMany(e.sums));
      for (const t of [...e.sums, e.fpW]) gpu.release(t);
      const K = block.linears[e.role]!.W.shape[1];
      const groups = weightMethod ? weightGroups(r, K, plan?.inputGroups[e.role]?.groups) : 0;
      layers.push({
        layer,
        linear: linearName(cfg.family, e.role),
        relError: Math.sqrt(e.num / e.den),
        ms: started.get(e.role) ?? 0,
        bits: weightMethod ? r.wbits + (32 * groups) / K : 16,
        codeBits: weightMethod ? r.wbits : 16,
        groups,
      });
    }
    summary.layers.push(...layers);
    const sites = plan?.sites ?? rangeReports(layer, await ranges!.read());
    (summary.activations ??= []).push(...(plan ? [] : sites));
    weights.replace(layer, block);
    if (ctx.cache) {
      const Q = await gpu.readMany(roles.map((role) => block.linears[role]!.W));
      const linears: HostBlock['linears'] = {};
      roles.forEach((role, i) => (linears[role] = { ...host.linears[role]!, W: Q[i] }));
      await ctx.cache.save(layer, { host: { ...host, linears, act: plan?.act, probLevels: plan?.probLevels }, layers, sites });
    }
    ctx.onBlock?.(layer + 1, cfg.layers, summary.layers, false);
  }
  for (const x of inps) be.release(x);
  summary.totalMs = performance.now() - t0;
  return summary;
}

/**
 * RPTQ's statistics, clustering and reorder plan for one block (the algorithm is quant/rptq.ts): per-channel ranges
 * at every site, k-means on the GPU, and the activation error of each channel grouping on the same tokens.
 */
async function rptqBlock(gpu: Gpu, decoder: Decoder<GpuTensor>, layer: number, block: BlockWeights<GpuTensor>, inps: GpuTensor[], o: RptqOptions): Promise<RptqPlan> {
  const ranges = await collectSiteRanges(gpu, decoder, layer, block, inps);
  const plan = await planRptq(ranges, decoder.cfg, o, gpuSteps(gpu));
  const bits = siteBits(o);
  const measured = {} as Record<Clustering, Partial<Record<ActSite, SiteQuant>>>;
  for (const cl of CLUSTERINGS) {
    measured[cl] = Object.fromEntries(Object.entries(plan.variants[cl]).filter(([site]) => bits[site as ActSite] < 16));
  }
  const errors = await siteErrors(gpu, decoder, layer, block, inps, measured);
  for (const s of plan.sites) {
    s.layer = layer;
    if (bits[s.site] < 16) s.error = { kmeans: errors.kmeans[s.site]!, contiguous: errors.contiguous[s.site]!, tensor: errors.tensor[s.site]! };
  }
  return plan;
}

/** (scale, zero) groups per output row, each one f16 scale and one f16 zero: 1 per row, ⌈K / groupsize⌉, or RPTQ's input clusters */
export function weightGroups(r: QuantRecipe, K: number, clusters?: number): number {
  if (clusters !== undefined) return clusters;
  return r.groupsize > 0 ? Math.ceil(K / r.groupsize) : 1;
}
