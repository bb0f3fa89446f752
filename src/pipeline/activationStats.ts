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
import type { SiteQuant, SiteRanges } from '../quant/rptq.ts';

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

/** Runs block `layer` (full-precision activations) on each input, inputs unchanged: (min, max) per channel per site. */
export async function collectSiteRanges(gpu: Gpu, decoder: Decoder<GpuTensor>, layer: number, block: BlockWeights<GpuTensor>, inputs: GpuTensor[]): Promise<SiteRanges> {
  const taps = siteTaps(decoder.cfg);
  const ranges = new Map<ActSite, GpuTensor>();
  for (const x of inputs) {
    const h = decoder.be.rows(x, 0, x.shape[0]);
    await decoder.block(layer, h, block, (_, point, t) => {
      const site = taps[point];
      if (!site) return;
      let r = ranges.get(site);
      if (!r) {
        const C = t.shape[t.shape.length - 1];
        r = gpu.upload(Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -Infinity : Infinity)), [C, 2], `range.${site}`);
        ranges.set(site, r);
      }
      ops.channelRange(gpu, t, r);
    });
    decoder.be.release(h);
  }
  const out = {} as SiteRanges;
  const read = await gpu.readMany([...ranges.values()]);
  [...ranges.keys()].forEach((site, i) => (out[site] = read[i]));
  for (const r of ranges.values()) gpu.release(r);
  return out;
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
