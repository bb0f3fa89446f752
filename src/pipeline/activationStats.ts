// Activation statistics of one block over every calibration token, through the forward pass's hook points:
//   collectSiteRanges: per-channel (min, max) at every activation-quantization site (channelRange kernel), the
//     statistics RPTQ clusters: R1 attention-norm output, R2 q and k as they enter attention, V, R3 out_proj input,
//     R4 FFN-norm output, R5 fc2/down input;
//   siteErrors: the relative error of fake-quantizing those activations with given per-cluster quantizers
//     (actQuant + outputError kernels), so groupings can be compared on the same tokens.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { linearName } from '../model/architecture.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import type { ActSite, BlockWeights } from '../model/weights.ts';
import { SITE_POINT, type SiteQuant, type SiteRanges, type SiteReport } from '../quant/rptq.ts';

/** The hook point that shows each site's activations before quantization. */
export function siteTaps(cfg: ModelConfig): Record<string, ActSite> {
  const n = (role: Parameters<typeof linearName>[1]) => linearName(cfg.family, role);
  return {
    attn_norm: 'attn_norm',
    [cfg.rope ? 'q_rope' : `${n('q')}.out`]: 'q',
    [cfg.rope ? 'k_rope' : `${n('k')}.out`]: 'k',
    [`${n('v')}.out`]: 'v',
    [`${n('o')}.in`]: 'o_in',
    ffn_norm: 'ffn_norm',
    [`${n('down')}.in`]: 'down_in',
  };
}

/** Per-channel (min, max) of every site's activations, accumulated on the GPU from hook points. */
export class SiteRangeCollector {
  private readonly taps: Record<string, ActSite>;
  private readonly ranges = new Map<ActSite, GpuTensor>();
  constructor(
    private readonly gpu: Gpu,
    cfg: ModelConfig,
  ) {
    this.taps = siteTaps(cfg);
  }
  /** a hook point's tensor; points that are not sites are ignored */
  add(point: string, t: GpuTensor): void {
    const site = this.taps[point];
    if (!site) return;
    let r = this.ranges.get(site);
    if (!r) {
      const C = t.shape[t.shape.length - 1];
      r = this.gpu.upload(Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -Infinity : Infinity)), [C, 2], `range.${site}`);
      this.ranges.set(site, r);
    }
    ops.channelRange(this.gpu, t, r);
  }
  async read(): Promise<SiteRanges> {
    const out = {} as SiteRanges;
    const read = await this.gpu.readMany([...this.ranges.values()]);
    [...this.ranges.keys()].forEach((site, i) => (out[site] = read[i]));
    for (const r of this.ranges.values()) this.gpu.release(r);
    this.ranges.clear();
    return out;
  }
}

/** Runs block `layer` (full-precision activations) on each input, inputs unchanged: (min, max) per channel per site. */
export async function collectSiteRanges(gpu: Gpu, decoder: Decoder<GpuTensor>, layer: number, block: BlockWeights<GpuTensor>, inputs: GpuTensor[]): Promise<SiteRanges> {
  const collector = new SiteRangeCollector(gpu, decoder.cfg);
  for (const x of inputs) {
    const h = decoder.be.rows(x, 0, x.shape[0]);
    await decoder.block(layer, h, block, (_, point, t) => collector.add(point, t));
    decoder.be.release(h);
  }
  return collector.read();
}

/** Site reports with ranges only (one cluster, no reorder): what non-RPTQ runs show in the Inspect views. */
export function rangeReports(layer: number, ranges: SiteRanges): SiteReport[] {
  return (Object.entries(ranges) as [ActSite, Float32Array][]).map(([site, r]) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = 0; c < r.length; c += 2) (lo = Math.min(lo, r[c])), (hi = Math.max(hi, r[c + 1]));
    return { layer, site, point: SITE_POINT[site], bits: 16, channels: r.length / 2, clusters: 1, folded: false, ranges: Array.from(r), perm: null, labels: new Array(r.length / 2).fill(0), clusterRanges: [lo, hi] };
  });
}

/**
 * ‖x̂ − x‖² / ‖x‖² at each site for each named set of quantizers (original channel order), over the same tokens the
 * statistics came from. Sites missing from a set are skipped.
 */
export async function siteErrors<K extends string>(
  gpu: Gpu,
  decoder: Decoder<GpuTensor>,
  layer: number,
  block: BlockWeights<GpuTensor>,
  inputs: GpuTensor[],
  sets: Record<K, Partial<Record<ActSite, SiteQuant>>>,
): Promise<Record<K, Partial<Record<ActSite, number>>>> {
  const taps = siteTaps(decoder.cfg);
  const quantizers: { set: K; site: ActSite; cluster: GpuTensor; params: GpuTensor; maxq: number; sums: GpuTensor[] }[] = [];
  for (const [set, sites] of Object.entries(sets) as [K, Partial<Record<ActSite, SiteQuant>>][]) {
    for (const [site, q] of Object.entries(sites) as [ActSite, SiteQuant][]) {
      quantizers.push({ set, site, cluster: gpu.upload(q.cluster, [q.cluster.length]), params: gpu.upload(q.params, [q.clusters, 2]), maxq: q.maxq, sums: [] });
    }
  }
  for (const x of inputs) {
    const h = decoder.be.rows(x, 0, x.shape[0]);
    await decoder.block(layer, h, block, (_, point, t) => {
      const site = taps[point];
      if (!site) return;
      for (const q of quantizers) {
        if (q.site !== site) continue;
        const xq = decoder.be.rows(t, 0, t.size / t.shape[t.shape.length - 1]);
        ops.actQuant(gpu, q.cluster, q.params, xq, q.maxq);
        q.sums.push(ops.outputError(gpu, xq, t));
        gpu.release(xq);
      }
    });
    decoder.be.release(h);
  }
  const out = {} as Record<K, Partial<Record<ActSite, number>>>;
  for (const q of quantizers) {
    const [num, den] = sumPairs(await gpu.readMany(q.sums));
    (out[q.set] ??= {})[q.site] = num / den;
    for (const t of [...q.sums, q.cluster, q.params]) gpu.release(t);
  }
  return out;
}

/** Σ of the first and second columns of [T, 2] row sums (outputError's output), over several reads. */
export function sumPairs(reads: Float32Array[]): [number, number] {
  let a = 0;
  let b = 0;
  for (const rows of reads) for (let t = 0; t < rows.length; t += 2) (a += rows[t]), (b += rows[t + 1]);
  return [a, b];
}
