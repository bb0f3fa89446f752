// The experiment as one value: CLI flags, the page's form and reports all speak QuantRecipe. Defaults follow
// shared/docs/methods.md; validate() refuses bad combinations before any work starts.
import { OptionsError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { CLUSTERINGS, type Clustering, type ReorderPoint, type RptqOptions } from './rptq.ts';

export const METHODS = ['fp', 'rtn', 'gptq', 'rptq'] as const;
/** the seeded generator's state is 32 bits */
export const MAX_SEED = 2 ** 32 - 1;
export type Method = (typeof METHODS)[number];

export interface QuantRecipe {
  method: Method;
  wbits: number;
  /** columns per quantization group; −1 = per row */
  groupsize: number;
  sym: boolean;
  actOrder: boolean;
  staticGroups: boolean;
  trueSequential: boolean;
  percdamp: number;
  blocksize: number;
  nsamples: number;
  /** calibration window length */
  seqlen: number;
  /** calibration text: c4, tinystories, tinyshakespeare, wikitext2, ptb, or a path/URL of a text file */
  calib: string;
  seed: number;
  /** quantize and run only the first N blocks (debugging), as in the seed projects */
  hiddenLayerNum?: number;
  // ---- RPTQ -------------------------------------------------------------------------------------------------------
  /** activation bits (16 = full precision); RPTQ only */
  abits: number;
  /** quantize only the K/V cache to abits (the seed tables' W4A4KV rows) */
  onlyQuantKv: boolean;
  /** k-means clusters per reorder point (R2 and R3 per head) */
  clusters: Record<ReorderPoint, number>;
  kmeansRestarts: number;
  /** norm-output bits; absent = max(8, abits) as the reference */
  normBits?: number;
  /** attention-probability bits; absent = max(8, abits) as the reference */
  probBits?: number;
  /** channel grouping: RPTQ's k-means clusters with reorder, or a baseline without reorder */
  clustering: Clustering;
}

export const DEFAULT_RECIPE: QuantRecipe = {
  method: 'fp',
  wbits: 16,
  groupsize: -1,
  sym: false,
  actOrder: false,
  staticGroups: false,
  trueSequential: false,
  percdamp: 0.01,
  blocksize: 128,
  nsamples: 128,
  seqlen: 2048,
  calib: 'c4',
  seed: 0,
  abits: 16,
  onlyQuantKv: false,
  clusters: { R1: 32, R2: 4, R3: 4, R4: 32, R5: 32 },
  kmeansRestarts: 10,
  clustering: 'kmeans',
};

export function recipe(partial: Partial<QuantRecipe>): QuantRecipe {
  const r = { ...DEFAULT_RECIPE, ...partial };
  if (partial.method && partial.method !== 'fp' && partial.wbits === undefined) r.wbits = 4;
  if (r.method === 'fp') r.wbits = 16;
  return r;
}

/** The input widths of the decoder's linear layers (what a group size must divide). */
function linearInputWidths(cfg: ModelConfig): Record<string, number> {
  return { 'q/k/v, fc1/gate/up (hidden)': cfg.hidden, 'out_proj/o_proj (heads × head_dim)': cfg.heads * cfg.headDim, 'fc2/down_proj (ffn)': cfg.ffn };
}

/** Throws OptionsError naming the first bad option. The model config, when known, checks widths and layer counts. */
export function validateRecipe(r: QuantRecipe, cfg?: ModelConfig): void {
  const bad = (msg: string) => {
    throw new OptionsError(msg);
  };
  if (!(METHODS as readonly string[]).includes(r.method)) bad(`--method must be one of ${METHODS.join(', ')} (got "${r.method}")`);
  const bitsOk = (b: number) => Number.isInteger(b) && ((b >= 2 && b <= 8) || b === 16);
  if (r.method === 'rptq') {
    if (!bitsOk(r.wbits)) bad(`--wbits must be 2..8, or 16 to leave weights in full precision, for rptq (got ${r.wbits})`);
  } else if (r.method !== 'fp' && (!Number.isInteger(r.wbits) || r.wbits < 2 || r.wbits > 8)) bad(`--wbits must be an integer from 2 to 8 for ${r.method} (got ${r.wbits})`);
  if (r.method !== 'rptq') {
    if (r.abits !== 16) bad(`--abits ${r.abits}: activation quantization is RPTQ's; pick --method rptq or --abits 16`);
    if (r.onlyQuantKv) bad('--only_quant_kv is an RPTQ mode; pick --method rptq');
  } else {
    if (!bitsOk(r.abits)) bad(`--abits must be 2..8, or 16 for full-precision activations (got ${r.abits})`);
    if (r.onlyQuantKv && r.abits === 16) bad('--only_quant_kv needs --abits below 16 (the K/V cache bits)');
    for (const [name, b] of [['norm_bits', r.normBits], ['prob_bits', r.probBits]] as const) {
      if (b !== undefined && (!Number.isInteger(b) || b < 2 || b > 16)) bad(`--${name} must be an integer from 2 to 16 (got ${b})`);
    }
    for (const [p, k] of Object.entries(r.clusters)) {
      if (!Number.isInteger(k) || k < 1) bad(`--${p}_clusters must be a positive integer (got ${k})`);
    }
    if (!Number.isInteger(r.kmeansRestarts) || r.kmeansRestarts < 1 || r.kmeansRestarts > 100) bad(`--kmeans_restarts must be 1..100 (got ${r.kmeansRestarts})`);
    if (!(CLUSTERINGS as readonly string[]).includes(r.clustering)) bad(`--clustering must be one of ${CLUSTERINGS.join(', ')} (got "${r.clustering}")`);
    if (r.groupsize !== -1) bad('--groupsize does not apply to rptq: its weight groups are the input clusters (one scale per output row × input cluster)');
    if (r.staticGroups) bad('--static-groups does not apply to rptq: its cluster groups are always fitted up front');
  }
  if (!Number.isInteger(r.groupsize) || (r.groupsize !== -1 && r.groupsize < 1)) bad(`--groupsize must be −1 (per row) or a positive integer (got ${r.groupsize})`);
  if (typeof r.calib !== 'string' || r.calib.trim() === '') bad('--calib must name a calibration set, a URL or a text file');
  if (!Number.isInteger(r.nsamples) || r.nsamples < 1) bad(`--nsamples must be a positive integer (got ${r.nsamples})`);
  if (!Number.isInteger(r.seqlen) || r.seqlen < 2) bad(`--seqlen must be an integer ≥ 2 (got ${r.seqlen})`);
  if (!(r.percdamp >= 0 && r.percdamp < 1)) bad(`--percdamp must be in [0, 1) (got ${r.percdamp})`);
  if (!Number.isInteger(r.blocksize) || r.blocksize < 1 || r.blocksize > 128) bad(`--blocksize must be 1..128 (got ${r.blocksize})`);
  if (r.staticGroups && r.groupsize === -1) bad('--static-groups needs a --groupsize');
  if (!Number.isInteger(r.seed) || r.seed < 0 || r.seed > MAX_SEED) bad(`--seed must be an integer from 0 to ${MAX_SEED} (got ${r.seed})`);
  if (!cfg) return;
  if (r.hiddenLayerNum !== undefined && (!Number.isInteger(r.hiddenLayerNum) || r.hiddenLayerNum < 1 || r.hiddenLayerNum > cfg.layers)) {
    bad(`--hidden_layer_num must be 1..${cfg.layers} for this model (got ${r.hiddenLayerNum})`);
  }
  if (r.method === 'rptq') {
    const limits: Record<ReorderPoint, [number, string]> = {
      R1: [cfg.hidden, 'hidden'],
      R2: [cfg.headDim, 'head_dim'],
      R3: [cfg.headDim, 'head_dim'],
      R4: [cfg.hidden, 'hidden'],
      R5: [cfg.ffn, 'ffn'],
    };
    for (const [p, [n, what]] of Object.entries(limits)) {
      const k = r.clusters[p as ReorderPoint];
      if (k > n) bad(`--${p}_clusters ${k} is more than the ${n} channels of ${what}${p === 'R2' || p === 'R3' ? ' (R2/R3 cluster inside each head)' : ''}`);
    }
  }
  if (r.groupsize > 0 && r.method !== 'fp') {
    for (const [what, width] of Object.entries(linearInputWidths(cfg))) {
      if (width % r.groupsize !== 0) bad(`--groupsize ${r.groupsize} does not divide the ${what} width ${width}`);
    }
  }
}

/** RPTQ's options as the method reads them, with the reference's defaults filled in. */
export function rptqOptions(r: QuantRecipe): RptqOptions {
  return {
    abits: r.abits,
    normBits: r.normBits ?? Math.max(8, r.abits),
    probBits: r.probBits ?? Math.max(8, r.abits),
    onlyQuantKv: r.onlyQuantKv,
    clusters: { ...r.clusters },
    restarts: r.kmeansRestarts,
    seed: r.seed,
    clustering: r.clustering,
  };
}

/**
 * The page's word for each option the CLI names by flag (validateRecipe speaks flags): one table, so a message under
 * the form names the field the user sees.
 */
export const FORM_WORDS: Record<string, string> = {
  method: 'method',
  wbits: 'wbits',
  groupsize: 'group size',
  sym: 'sym',
  'act-order': 'act-order',
  'static-groups': 'static groups',
  'true-sequential': 'true-sequential',
  percdamp: 'damp',
  blocksize: 'block size',
  nsamples: 'calibration windows',
  seqlen: 'seqlen',
  calib: 'calibration',
  seed: 'seed',
  hidden_layer_num: 'number of blocks',
  abits: 'abits',
  only_quant_kv: '"only the K/V cache"',
  R1_clusters: 'R1 clusters',
  R2_clusters: 'R2 clusters',
  R3_clusters: 'R3 clusters',
  R4_clusters: 'R4 clusters',
  R5_clusters: 'R5 clusters',
  kmeans_restarts: 'restarts',
  norm_bits: 'norm bits',
  prob_bits: 'prob bits',
  clustering: 'channel grouping',
};

/** A validateRecipe message in the form's words: "--groupsize 7 does not divide…" → "group size 7 does not divide…". */
export function inFormWords(message: string): string {
  return message
    .replace(/--([\w-]+)/g, (_, f: string) => FORM_WORDS[f] ?? f.replace(/_/g, ' '))
    .replace(/\(got NaN\)/g, '(the field is empty)')
    .replace(/^./, (c) => c.toUpperCase());
}

/** A short name for a recipe, as the seed tables write it: "RPTQ W4A4KV", "GPTQ W3 g128", "FP". */
export function recipeLabel(r: QuantRecipe): string {
  if (r.method === 'fp') return 'FP';
  const n = (v: number) => (Number.isFinite(v) ? String(v) : '?');
  const g = r.groupsize > 0 ? ` g${n(r.groupsize)}` : '';
  if (r.method !== 'rptq') return `${r.method.toUpperCase()} W${n(r.wbits)}${g}`;
  const base = r.clustering === 'kmeans' ? '' : r.clustering === 'tensor' ? ' per-tensor' : ' contiguous groups';
  return `RPTQ W${n(r.wbits)}A${n(r.abits)}${r.onlyQuantKv ? 'KV' : ''}${base}`;
}
