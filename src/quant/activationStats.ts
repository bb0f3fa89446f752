// Activation statistics of one block over every calibration token, through the forward pass's taps, on any backend:
//   SiteRangeCollector / collectSiteRanges: per-channel (min, max) at every activation-quantization site
//     (channelRange kernel): the statistics RPTQ clusters, and what every run shows in the Inspect views;
//   siteErrors: the relative error of fake-quantizing those activations with given per-cluster quantizers
//     (actQuant + outputError kernels), so channel groupings can be compared on the same tokens.
import type { Backend } from '../gpu/backend.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import { siteTaps, type ActSite, type TapPoint } from '../model/taps.ts';
import type { BlockWeights } from '../model/weights.ts';
import type { SiteReport } from './siteReport.ts';

/** Per-channel (min, max) at every site over the calibration tokens: [C, 2]. */
export type SiteRanges = Record<ActSite, Float32Array>;

/** One site's static quantizer in some channel order. */
export interface SiteQuant {
  cluster: Uint32Array; // [C]
  params: Float32Array; // [clusters, 2]
  clusters: number;
  maxq: number;
}

/** Per-channel (min, max) of every site's activations, accumulated on the backend from taps. */
export class SiteRangeCollector<T> {
  private readonly taps: Partial<Record<TapPoint, ActSite>>;
  private readonly ranges = new Map<ActSite, T>();
  constructor(
    private readonly be: Backend<T>,
    cfg: Pick<ModelConfig, 'rope'>,
  ) {
    this.taps = siteTaps(cfg);
  }
  /** a tap's tensor; taps that are not sites are ignored */
  add(point: TapPoint, t: T): void {
    const site = this.taps[point];
    if (!site) return;
    let r = this.ranges.get(site);
    if (!r) {
      const shape = this.be.shape(t);
      const C = shape[shape.length - 1];
      r = this.be.fromHost(
        Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -Infinity : Infinity)),
        [C, 2],
      );
      this.ranges.set(site, r);
    }
    this.be.channelRange(t, r);
  }
  async read(): Promise<SiteRanges> {
    const out = {} as SiteRanges;
    const read = await this.be.readMany([...this.ranges.values()]);
    [...this.ranges.keys()].forEach((site, i) => (out[site] = read[i]));
    for (const r of this.ranges.values()) this.be.release(r);
    this.ranges.clear();
    return out;
  }
}

/** Runs block `layer` (full-precision activations) on each input, inputs unchanged: (min, max) per channel per site. */
export async function collectSiteRanges<T>(
  decoder: Decoder<T>,
  layer: number,
  block: BlockWeights<T>,
  inputs: T[],
): Promise<SiteRanges> {
  const be = decoder.be;
  const collector = new SiteRangeCollector(be, decoder.cfg);
  for (const x of inputs) {
    const h = be.rows(x, 0, be.shape(x)[0]);
    await decoder.block(layer, h, block, (_, point, t) => collector.add(point, t));
    be.release(h);
  }
  return collector.read();
}

/** Site reports with ranges only (one cluster, no reorder): what runs without a transform show in the Inspect views. */
export function rangeReports(layer: number, ranges: Partial<SiteRanges>): SiteReport[] {
  return (Object.entries(ranges) as [ActSite, Float32Array][]).map(([site, r]) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let c = 0; c < r.length; c += 2) ((lo = Math.min(lo, r[c])), (hi = Math.max(hi, r[c + 1])));
    return {
      layer,
      site,
      bits: 16,
      channels: r.length / 2,
      clusters: 1,
      folded: false,
      ranges: Array.from(r),
      perm: null,
      labels: new Array(r.length / 2).fill(0),
      clusterRanges: [lo, hi],
    };
  });
}

/**
 * ‖x̂ − x‖² / ‖x‖² at each site for each named set of quantizers (original channel order), over the same
 * tokens the statistics came from. Sites missing from a set are skipped.
 */
export async function siteErrors<T, K extends string>(
  decoder: Decoder<T>,
  layer: number,
  block: BlockWeights<T>,
  inputs: T[],
  sets: Record<K, Partial<Record<ActSite, SiteQuant>>>,
): Promise<Record<K, Partial<Record<ActSite, number>>>> {
  const be = decoder.be;
  const taps = siteTaps(decoder.cfg);
  const quantizers: {
    set: K;
    site: ActSite;
    q: SiteQuant;
    cluster: ReturnType<typeof be.ids>;
    params: T;
    sums: T[];
  }[] = [];
  for (const [set, sites] of Object.entries(sets) as [K, Partial<Record<ActSite, SiteQuant>>][]) {
    for (const [site, q] of Object.entries(sites) as [ActSite, SiteQuant][]) {
      quantizers.push({
        set,
        site,
        q,
        cluster: be.ids(q.cluster),
        params: be.fromHost(q.params, [q.clusters, 2]),
        sums: [],
      });
    }
  }
  for (const x of inputs) {
    const h = be.rows(x, 0, be.shape(x)[0]);
    await decoder.block(layer, h, block, (_, point, t) => {
      const site = taps[point];
      if (!site) return;
      const shape = be.shape(t);
      const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      for (const q of quantizers) {
        if (q.site !== site) continue;
        const xq = be.rows(t, 0, rows);
        be.actQuant(xq, { cluster: q.cluster, params: q.params, maxq: q.q.maxq });
        q.sums.push(be.outputError(xq, t));
        be.release(xq);
      }
    });
    be.release(h);
  }
  const out = {} as Record<K, Partial<Record<ActSite, number>>>;
  for (const q of quantizers) {
    const [num, den] = sumPairs(await be.readMany(q.sums));
    (out[q.set] ??= {})[q.site] = num / den;
    for (const t of q.sums) be.release(t);
    be.release(q.cluster);
    be.release(q.params);
  }
  return out;
}

/** Σ of the first and second columns of [T, 2] row sums (outputError's output), over several reads. */
export function sumPairs(reads: Float32Array[]): [number, number] {
  let a = 0;
  let b = 0;
  for (const rows of reads) for (let t = 0; t < rows.length; t += 2) ((a += rows[t]), (b += rows[t + 1]));
  return [a, b];
}
