// RPTQ (Yuan et al. 2023) for one decoder block, after its activation statistics are in (pipeline/activationStats.ts):
//   1. each channel becomes the point [max, min] of its calibration range ([q_max, k_max, q_min, k_min] at R2);
//   2. k-means clusters the channels of every reorder point (R2 and R3 inside each head), k-means++ seeds, restarts;
//   3. the reorder index sorts channels by cluster; it is folded into norms and linear weights (reorder.ts), except
//      R2 on rotary models, where the clusters apply after RoPE at run time (pairs (i, i + D/2) rotate together);
//   4. activations are fake-quantized statically with one (scale, zero) per cluster, from the cluster's min of mins
//      and max of maxes; weights get GPTQ with one (scale, zero) per (output row × input cluster).
// The same plan is built for two baselines without reorder: contiguous channel groups of the same counts, and one
// range per tensor. Every quantization site reports its ranges, clusters and errors for the page to draw.
// RPTQ is a transform step: by default GPTQ quantizes the reordered weights with those per-cluster groups ("RPTQ W4A4"
// is RPTQ then GPTQ, as the reference does); RPTQ then RTN is the same with round-to-nearest weights.
import { z } from 'zod';
import type { ModelConfig } from '../model/config.ts';
import { linearRoles, type LinearRole } from '../model/families.ts';
import { INPUT_SITE, type ActSite } from '../model/taps.ts';
import type { HostActQuant } from '../model/weights.ts';
import { clusterParams } from './activationQuant.ts';
import { collectSiteRanges, siteErrors, type SiteQuant, type SiteRanges } from './activationStats.ts';
import { backendSteps, kmeans, reorderIndex, type KmeansDevice } from './kmeans.ts';
import type { ColumnGroups, TransformMethod } from './method.ts';
import { expandToQueryHeads, reorderBlock, unfoldLinears, type BlockReorder } from './reorder.ts';
import type { SiteReport } from './siteReport.ts';
import { abitsOption } from './weightOptions.ts';

export type ReorderPoint = 'R1' | 'R2' | 'R3' | 'R4' | 'R5';
export const REORDER_POINTS: readonly ReorderPoint[] = ['R1', 'R2', 'R3', 'R4', 'R5'];
export const CLUSTERINGS = ['kmeans', 'contiguous', 'tensor'] as const;
export type Clustering = (typeof CLUSTERINGS)[number];

const bitsOption = (label: string, flag: string, what: string) =>
  z
    .number()
    .int()
    .min(2)
    .max(16)
    .optional()
    .meta({ flag, label, description: `${what}; blank = max(8, abits), as the reference`, fallback: 'max(8, abits)' });
const clustersOption = (p: ReorderPoint, d: number, where: string) =>
  z
    .number()
    .int()
    .min(1)
    .max(1 << 16)
    .default(d)
    .meta({ flag: `${p}_clusters`, label: `${p} clusters`, description: `k-means clusters at ${where}` });

const options = z.strictObject({
  abits: abitsOption(16, ''),
  onlyQuantKv: z.boolean().default(false).meta({
    flag: 'only_quant_kv',
    label: 'only the K/V cache',
    description: 'quantize only K and V to abits (the W4A4KV rows)',
  }),
  R1: clustersOption('R1', 32, 'the attention-norm output'),
  R2: clustersOption('R2', 4, 'q/k, per head'),
  R3: clustersOption('R3', 4, 'the out_proj input, per head'),
  R4: clustersOption('R4', 32, 'the FFN-norm output'),
  R5: clustersOption('R5', 32, 'the fc2/down input'),
  kmeansRestarts: z
    .number()
    .int()
    .min(1)
    .max(100)
    .default(10)
    .meta({ flag: 'kmeans_restarts', label: 'restarts', description: 'k-means restarts (best inertia kept)' }),
  normBits: bitsOption('norm bits', 'norm_bits', 'bits of the norm outputs (inputs of q/k/v and fc1)'),
  probBits: bitsOption('prob bits', 'prob_bits', 'bits of the attention probabilities'),
  clustering: z.enum(CLUSTERINGS).default('kmeans').meta({
    flag: 'clustering',
    label: 'channel grouping',
    description: "RPTQ's k-means clusters with reorder, or a baseline without reorder",
  }),
});
export type RptqStep = z.infer<typeof options>;

/** RPTQ's options as the algorithm reads them, with the reference's defaults filled in. */
export interface RptqOptions {
  abits: number;
  /** bits of the two norm outputs (the inputs of q/k/v and fc1/gate/up); [ref] max(8, abits) */
  normBits: number;
  /** bits of the attention probabilities, round(p·(2^b − 1))/(2^b − 1); [ref] max(8, abits) */
  probBits: number;
  /** quantize only the K/V cache; every other activation stays in full precision */
  onlyQuantKv: boolean;
  clusters: Record<ReorderPoint, number>;
  restarts: number;
  seed: number;
  clustering: Clustering;
}

/** The reorder point whose clusters each site uses. */
export const SITE_POINT: Record<ActSite, ReorderPoint> = {
  attn_norm: 'R1',
  q: 'R2',
  k: 'R2',
  v: 'R3',
  o_in: 'R3',
  ffn_norm: 'R4',
  down_in: 'R5',
};

export interface RptqPlan {
  /** permutations folded into the weights */
  reorder: BlockReorder;
  /** activation quantizers in the folded channel order, for the sites quantized below 16 bits */
  act: Partial<Record<ActSite, HostActQuant>>;
  probLevels: number;
  /** weight groups per linear layer, in the folded column order */
  inputGroups: Partial<Record<LinearRole, ColumnGroups>>;
  /** the quantizers of every grouping in the original channel order (what the error report compares) */
  variants: Record<Clustering, Partial<Record<ActSite, SiteQuant>>>;
  sites: SiteReport[];
}

/** Bits per site, with the reference's rules: norm outputs at normBits, K and V always at abits. */
export function siteBits(o: Pick<RptqOptions, 'abits' | 'normBits' | 'onlyQuantKv'>): Record<ActSite, number> {
  const other = o.onlyQuantKv ? 16 : o.abits;
  const norm = o.onlyQuantKv ? 16 : o.normBits;
  return { attn_norm: norm, q: other, k: o.abits, v: o.abits, o_in: other, ffn_norm: norm, down_in: other };
}

/** Channel points [max, min, 0, 0] (or the R2 pair) for the k-means kernel's vec4. */
function points(max: (c: number) => number, min: (c: number) => number, n: number): Float32Array {
  const P = new Float32Array(n * 4);
  for (let c = 0; c < n; c++) ((P[c * 4] = max(c)), (P[c * 4 + 1] = min(c)));
  return P;
}

/** Cluster labels of one reorder point: [heads · n] labels in 0..k−1 inside each head. */
interface PointClusters {
  labels: Uint32Array;
  heads: number;
  k: number;
}

export async function planRptq(
  ranges: SiteRanges,
  cfg: ModelConfig,
  o: RptqOptions,
  device: KmeansDevice,
): Promise<RptqPlan> {
  const { heads: H, kvHeads: HKV, headDim: D } = cfg;
  const group = H / HKV;
  const lo = (r: Float32Array, c: number) => r[c * 2];
  const hi = (r: Float32Array, c: number) => r[c * 2 + 1];

  // 1. the channel points of each reorder point; R2/R3 per KV head, over the query heads that read it
  const qMax = (g: number, i: number, r: Float32Array) =>
    Math.max(...Array.from({ length: group }, (_, j) => hi(r, (g * group + j) * D + i)));
  const qMin = (g: number, i: number, r: Float32Array) =>
    Math.min(...Array.from({ length: group }, (_, j) => lo(r, (g * group + j) * D + i)));
  const kv = (c: number) => [Math.floor(c / D), c % D] as const;
  const pts: Record<ReorderPoint, { P: Float32Array; heads: number }> = {
    R1: {
      P: points(
        (c) => hi(ranges.attn_norm, c),
        (c) => lo(ranges.attn_norm, c),
        cfg.hidden,
      ),
      heads: 1,
    },
    R2: { P: r2Points(), heads: HKV },
    R3: {
      P: points(
        (c) => qMax(...kv(c), ranges.o_in),
        (c) => qMin(...kv(c), ranges.o_in),
        HKV * D,
      ),
      heads: HKV,
    },
    R4: {
      P: points(
        (c) => hi(ranges.ffn_norm, c),
        (c) => lo(ranges.ffn_norm, c),
        cfg.hidden,
      ),
      heads: 1,
    },
    R5: {
      P: points(
        (c) => hi(ranges.down_in, c),
        (c) => lo(ranges.down_in, c),
        cfg.ffn,
      ),
      heads: 1,
    },
  };
  function r2Points(): Float32Array {
    const P = new Float32Array(HKV * D * 4);
    for (let c = 0; c < HKV * D; c++) {
      const [g, i] = kv(c);
      P.set([qMax(g, i, ranges.q), hi(ranges.k, c), qMin(g, i, ranges.q), lo(ranges.k, c)], c * 4);
    }
    return P;
  }

  // 2. k-means (and the two baselines' groupings)
  const clusterings = {} as Record<Clustering, Record<ReorderPoint, PointClusters>>;
  for (const cl of CLUSTERINGS) clusterings[cl] = {} as Record<ReorderPoint, PointClusters>;
  for (const [point, { P, heads }] of Object.entries(pts) as [ReorderPoint, { P: Float32Array; heads: number }][]) {
    const n = P.length / 4 / heads;
    const k = Math.min(o.clusters[point], n);
    const res = await kmeans(device, P, { k, restarts: o.restarts, maxIter: 300, seed: o.seed, heads });
    clusterings.kmeans[point] = { labels: res.labels, heads, k };
    clusterings.contiguous[point] = {
      labels: Uint32Array.from({ length: heads * n }, (_, c) => Math.floor(((c % n) * k) / n)),
      heads,
      k,
    };
    clusterings.tensor[point] = { labels: new Uint32Array(heads * n), heads: 1, k: 1 };
  }

  // cluster id of each channel of a site, original order: per head for R2/R3, query heads share their KV head's labels
  const siteClusters = (site: ActSite, pc: PointClusters): { cluster: Uint32Array; clusters: number } => {
    const queryHeads = site === 'q' || site === 'o_in';
    const C = ranges[site].length / 2;
    if (pc.heads === 1) return { cluster: pc.k === 1 ? new Uint32Array(C) : pc.labels.slice(), clusters: pc.k };
    const cluster = new Uint32Array(C);
    for (let c = 0; c < C; c++) {
      const h = Math.floor(c / D);
      const g = queryHeads ? Math.floor(h / group) : h;
      cluster[c] = h * pc.k + pc.labels[g * D + (c % D)];
    }
    return { cluster, clusters: (queryHeads ? H : HKV) * pc.k };
  };

  const bits = siteBits(o);
  const variants = {} as RptqPlan['variants'];
  for (const cl of CLUSTERINGS) {
    variants[cl] = {};
    for (const site of Object.keys(SITE_POINT) as ActSite[]) {
      const { cluster, clusters } = siteClusters(site, clusterings[cl][SITE_POINT[site]]);
      const b = bits[site] < 16 ? bits[site] : 8; // 16-bit sites still get a quantizer for the weight groups
      variants[cl][site] = {
        cluster,
        clusters,
        params: clusterParams(ranges[site], cluster, clusters, b),
        maxq: 2 ** b - 1,
      };
    }
  }

  // 3. reorder (k-means only: the baselines keep the original order)
  const reorder: BlockReorder = {};
  if (o.clustering === 'kmeans') {
    const km = clusterings.kmeans;
    const sorted = (p: ReorderPoint) => {
      const { labels, heads, k } = km[p];
      const n = labels.length / heads;
      return reorderIndex(Uint32Array.from(labels, (l, c) => Math.floor(c / n) * k + l));
    };
    reorder.R1 = sorted('R1');
    if (!cfg.rope) reorder.R2 = sorted('R2');
    reorder.R3 = sorted('R3');
    reorder.R4 = sorted('R4');
    reorder.R5 = sorted('R5');
  }
  const sitePerm: Record<ActSite, Uint32Array | undefined> = {
    attn_norm: reorder.R1,
    q: reorder.R2 && expandToQueryHeads(reorder.R2, H, HKV, D),
    k: reorder.R2,
    v: reorder.R3,
    o_in: reorder.R3 && expandToQueryHeads(reorder.R3, H, HKV, D),
    ffn_norm: reorder.R4,
    down_in: reorder.R5,
  };

  // 4. the chosen grouping's quantizers in the folded order
  const chosen = variants[o.clustering];
  const folded = (site: ActSite): Uint32Array => {
    const p = sitePerm[site];
    const c = chosen[site]!.cluster;
    return p ? Uint32Array.from(p, (j) => c[j]) : c.slice();
  };
  const act: RptqPlan['act'] = {};
  for (const site of Object.keys(SITE_POINT) as ActSite[]) {
    if (bits[site] >= 16) continue;
    const s = chosen[site]!;
    act[site] = { cluster: folded(site), params: s.params, maxq: s.maxq };
  }
  const inputGroups: RptqPlan['inputGroups'] = {};
  for (const [role, site] of Object.entries(INPUT_SITE) as [LinearRole, ActSite][]) {
    if (!linearRoles(cfg).includes(role)) continue;
    inputGroups[role] = { colGroup: folded(site), groups: chosen[site]!.clusters };
  }

  const sites: SiteReport[] = (Object.keys(SITE_POINT) as ActSite[]).map((site) => {
    const s = chosen[site]!;
    const clusterRanges = new Array<number>(s.clusters * 2);
    for (let j = 0; j < s.clusters; j++) ((clusterRanges[j * 2] = Infinity), (clusterRanges[j * 2 + 1] = -Infinity));
    s.cluster.forEach((j, c) => {
      clusterRanges[j * 2] = Math.min(clusterRanges[j * 2], lo(ranges[site], c));
      clusterRanges[j * 2 + 1] = Math.max(clusterRanges[j * 2 + 1], hi(ranges[site], c));
    });
    return {
      layer: -1,
      site,
      point: SITE_POINT[site],
      bits: bits[site],
      channels: s.cluster.length,
      clusters: s.clusters,
      folded: sitePerm[site] !== undefined,
      ranges: Array.from(ranges[site]),
      perm: sitePerm[site] ? Array.from(sitePerm[site]!) : null,
      labels: Array.from(s.cluster),
      clusterRanges,
    };
  });
  const probLevels = o.onlyQuantKv || o.probBits >= 16 ? 0 : 2 ** o.probBits - 1;
  return { reorder, act, probLevels, inputGroups, variants, sites };
}

/** The step's options as the algorithm reads them: clusters as a record, the reference's norm/prob defaults. */
export function rptqOptions(o: RptqStep, seed: number): RptqOptions {
  return {
    abits: o.abits,
    normBits: o.normBits ?? Math.max(8, o.abits),
    probBits: o.probBits ?? Math.max(8, o.abits),
    onlyQuantKv: o.onlyQuantKv,
    clusters: { R1: o.R1, R2: o.R2, R3: o.R3, R4: o.R4, R5: o.R5 },
    restarts: o.kmeansRestarts,
    seed,
    clustering: o.clustering,
  };
}

const seedRow = (label: string, wbits: number, abits: number, onlyQuantKv: boolean) => ({
  label,
  steps: [
    { method: 'rptq', abits, onlyQuantKv, clustering: 'kmeans' },
    { method: 'gptq', wbits },
  ],
});

export const RPTQ: TransformMethod<typeof options, SiteReport> = {
  kind: 'transform',
  name: 'rptq',
  title: 'RPTQ',
  summary: 'reorder channels into k-means clusters of similar range, then quantize activations statically per cluster',
  options,
  fixesWeightGroups: 'its weight groups are the input clusters (one scale per output row × input cluster)',
  defaultWeight: 'gptq',
  check(o, ctx) {
    if (o.onlyQuantKv && o.abits === 16) ctx.bad('--only_quant_kv needs --abits below 16 (the K/V cache bits)');
    if (!ctx.cfg) return;
    const { cfg } = ctx;
    const limits: Record<ReorderPoint, [number, string]> = {
      R1: [cfg.hidden, 'hidden'],
      R2: [cfg.headDim, 'head_dim'],
      R3: [cfg.headDim, 'head_dim'],
      R4: [cfg.hidden, 'hidden'],
      R5: [cfg.ffn, 'ffn'],
    };
    for (const [p, [n, what]] of Object.entries(limits) as [ReorderPoint, [number, string]][]) {
      if (o[p] > n)
        ctx.bad(
          `--${p}_clusters ${o[p]} is more than the ${n} channels ` +
            `of ${what}${p === 'R2' || p === 'R3' ? ' (R2/R3 cluster inside each head)' : ''}`,
        );
    }
  },
  describe(o) {
    const parts = [`clusters ${o.R1}/${o.R2}/${o.R3}/${o.R4}/${o.R5} restarts ${o.kmeansRestarts}`];
    if (o.normBits !== undefined || o.probBits !== undefined)
      parts.push(`norm A${o.normBits ?? Math.max(8, o.abits)} probs ${o.probBits ?? Math.max(8, o.abits)}-bit`);
    return parts.join(' · ');
  },
  label(o, wbits) {
    const base = o.clustering === 'kmeans' ? '' : o.clustering === 'tensor' ? ' per-tensor' : ' contiguous groups';
    return `W${wbits}A${o.abits}${o.onlyQuantKv ? 'KV' : ''}${base}`;
  },
  activationBits: (o) => o.abits,
  baselines: (o) =>
    CLUSTERINGS.filter((c) => c !== o.clustering).map((c) => ({ name: c, options: { ...o, clustering: c } })),
  async block(ctx, step) {
    const { decoder, layer, block, inputs, be } = ctx;
    const o = rptqOptions(step, ctx.seed);
    // 1–2. statistics and clusters (k-means on the backend), and the activation error of each grouping on the same
    // tokens
    const ranges = await collectSiteRanges(decoder, layer, block, inputs);
    const plan = await planRptq(ranges, decoder.cfg, o, backendSteps(be));
    const bits = siteBits(o);
    const measured = {} as Record<Clustering, Partial<Record<ActSite, SiteQuant>>>;
    for (const cl of CLUSTERINGS) {
      measured[cl] = Object.fromEntries(
        Object.entries(plan.variants[cl]).filter(([site]) => bits[site as ActSite] < 16),
      );
    }
    const errors = await siteErrors(decoder, layer, block, inputs, measured);
    for (const s of plan.sites) {
      s.layer = layer;
      if (bits[s.site] < 16)
        s.error = {
          kmeans: errors.kmeans[s.site]!,
          contiguous: errors.contiguous[s.site]!,
          tensor: errors.tensor[s.site]!,
        };
    }
    // 3–4. the reorder folded into the weights; the quantizers turn on once the weights are quantized
    return {
      host: reorderBlock(ctx.host, plan.reorder, decoder.cfg),
      act: plan.act,
      probLevels: plan.probLevels,
      weightGroups: plan.inputGroups,
      report: plan.sites,
      fold: plan.reorder,
    };
  },
  refold: (host, fold, cfg) => reorderBlock(host, fold as BlockReorder, cfg),
  unfold: (linears, fold, cfg) => unfoldLinears(linears, fold as BlockReorder, cfg),
  summarize(sites) {
    const measured = sites.filter((s) => s.error);
    if (!measured.length) return '';
    const groupings = Object.keys(measured[0].error!);
    const siteErrorHeader =
      'activation quantization error ‖x̂ − x‖²/‖x‖² on the calibration tokens (16-bit sites omitted)';
    const lines = [siteErrorHeader];
    lines.push(
      `| block | site | point | bits | channels | clusters | reordered | ${groupings.join(' | ')} |`,
      `|${'---|'.repeat(7 + groupings.length)}`,
    );
    for (const s of measured) {
      lines.push(
        `| ${s.layer} | ${s.site} | ${s.point ?? ''} | ${s.bits} | ${s.channels} | ${s.clusters} ` +
          `| ${s.folded ? 'folded' : s.perm ? 'yes' : 'run time'} ` +
          `| ${groupings.map((g) => s.error![g].toExponential(2)).join(' | ')} |`,
      );
    }
    return lines.join('\n');
  },
  presets: [
    seedRow('W4A16', 4, 16, false),
    seedRow('W4A8', 4, 8, false),
    seedRow('W4A4', 4, 4, false),
    seedRow('W4A4KV', 4, 4, true),
    seedRow('W4A3KV', 4, 3, true),
    seedRow('W3A3KV', 3, 3, true),
  ],
};
