// The whole experiment as one serializable value: which model, the recipe, what to evaluate. The page's form, share
// links, the CLI's --from-link and cache keys all speak it. Its schema (zod) is the gate every outside value passes:
// a link someone edited is checked field by field before anything in the page changes.
import { z } from 'zod';
import { CALIBRATION_SETS } from '../eval/calibration.ts';
import { EVAL_DATASETS } from '../eval/datasets.ts';
import { parseHubId } from '../model/source.ts';
import { DEFAULT_RECIPE, MAX_SEED, METHODS, recipeLabel, type QuantRecipe } from '../quant/recipe.ts';
import { CLUSTERINGS } from '../quant/rptq.ts';

/** Where the model comes from, without the bytes: local files cannot travel in a link, only their name. */
export type ModelRef =
  | { kind: 'bundled'; id: string }
  | { kind: 'hub'; repo: string; revision: string }
  | { kind: 'url'; url: string }
  | { kind: 'local'; label: string };

export interface EvalSpec {
  datasets: string[];
  seqlen: number;
  /** first k windows; null = all */
  windows: number | null;
}

export interface ExperimentSpec {
  model: ModelRef;
  recipe: QuantRecipe;
  eval: EvalSpec;
}

/** What a link may carry of a run's outcome: figures only, never tensors. */
export interface ResultSummary {
  label: string;
  ppl: Record<string, number>;
  pplBefore?: Record<string, number>;
  /** mean bits per weight over the quantized layers */
  bitsPerWeight?: number;
  /** of which the codes; the rest is scales and zeros */
  codeBits?: number;
  /** what the figures carry (the calibration text overlapping an evaluation text) */
  warnings?: string[];
  quantizeMs?: number;
  device?: string;
}

/** A calibration source a link may name: a named set, or an https URL on a public host name (no paths, no local hosts). */
export function isLinkCalibration(calib: string): boolean {
  if ((CALIBRATION_SETS as readonly string[]).includes(calib)) return true;
  try {
    const u = new URL(calib);
    return u.protocol === 'https:' && z.regexes.domain.test(u.hostname) && !/(^|\.)localhost$/i.test(u.hostname) && !u.username && !u.password && !u.href.includes('/../');
  } catch {
    return false;
  }
}

const name = (re: RegExp, what: string) => z.string().max(200).regex(re, `not a valid ${what}`);
const bits = z.number().int().min(2).max(16);

export const modelRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('bundled'), id: name(/^[\w.-]+$/, 'bundled model id') }),
  z.object({ kind: z.literal('hub'), repo: z.string().max(200).refine((r) => parseHubId(r) !== null, 'not a Hub repo id (org/name)'), revision: name(/^[\w./-]+$/, 'revision') }),
  z.object({ kind: z.literal('url'), url: z.url({ protocol: /^https?$/ }).max(2000) }),
  z.object({ kind: z.literal('local'), label: z.string().max(200) }),
]);

export const recipeSchema = z.strictObject({
  method: z.enum(METHODS),
  wbits: bits,
  groupsize: z.number().int().min(-1).max(1 << 20),
  sym: z.boolean(),
  actOrder: z.boolean(),
  staticGroups: z.boolean(),
  trueSequential: z.boolean(),
  percdamp: z.number().min(0).max(1),
  blocksize: z.number().int().min(1).max(128),
  nsamples: z.number().int().min(1).max(4096),
  seqlen: z.number().int().min(2).max(1 << 17),
  // a named set, or an absolute https URL the page shows in full and asks to confirm before fetching; never a path,
  // which would let a link choose what the page (or the CLI) reads
  calib: z.string().max(2000).refine(isLinkCalibration, `the calibration source must be a named set (${CALIBRATION_SETS.join(', ')}) or an absolute https:// URL of a public host, not a path`),
  seed: z.number().int().min(0).max(MAX_SEED),
  hiddenLayerNum: z.number().int().min(1).optional(),
  abits: bits,
  onlyQuantKv: z.boolean(),
  clusters: z.strictObject({ R1: z.number().int().min(1), R2: z.number().int().min(1), R3: z.number().int().min(1), R4: z.number().int().min(1), R5: z.number().int().min(1) }),
  kmeansRestarts: z.number().int().min(1).max(100),
  normBits: bits.optional(),
  probBits: bits.optional(),
  clustering: z.enum(CLUSTERINGS),
});

export const experimentSchema = z.strictObject({
  model: modelRefSchema,
  recipe: recipeSchema,
  eval: z.strictObject({
    datasets: z.array(z.enum(EVAL_DATASETS)).min(1).max(EVAL_DATASETS.length),
    seqlen: z.number().int().min(2).max(1 << 17),
    windows: z.number().int().min(1).nullable(),
  }),
});

const figures = z.partialRecord(z.enum(EVAL_DATASETS), z.number().positive());
export const resultSummarySchema = z.strictObject({
  label: z.string().max(200),
  ppl: figures,
  pplBefore: figures.optional(),
  bitsPerWeight: z.number().positive().max(64).optional(),
  codeBits: z.number().positive().max(64).optional(),
  warnings: z.array(z.string().max(500)).max(10).optional(),
  quantizeMs: z.number().nonnegative().optional(),
  device: z.string().max(300).optional(),
});

/** A recipe from a possibly older link or form: missing fields take today's defaults. */
export function completeRecipe(r: Partial<QuantRecipe>): QuantRecipe {
  return { ...DEFAULT_RECIPE, ...r, clusters: { ...DEFAULT_RECIPE.clusters, ...r.clusters } };
}

export function describeModel(m: ModelRef): string {
  switch (m.kind) {
    case 'bundled':
      return `bundled ${m.id}`;
    case 'hub':
      return `${m.repo}@${m.revision}`;
    case 'url':
      return m.url;
    case 'local':
      return `local files "${m.label}"`;
  }
}

/**
 * One line that names everything the experiment depends on, the same in the page and the CLI, e.g.
 * "bundled stories260K · RPTQ W4A4 · calib tinystories 128×2048 seed 0 · clusters 32/4/4/32/32 · eval tinystories seqlen 512 windows all".
 */
export function describeSpec(s: ExperimentSpec): string {
  const r = s.recipe;
  const parts = [describeModel(s.model), recipeLabel(r)];
  if (r.method !== 'fp') {
    parts.push(`calib ${r.calib} ${r.nsamples}×${r.seqlen} seed ${r.seed}`);
    if (r.method === 'gptq' || r.method === 'rptq') {
      const opts = [r.actOrder && 'act-order', r.staticGroups && 'static groups', r.trueSequential && 'true-sequential', r.sym && 'sym'].filter(Boolean);
      parts.push(`damp ${r.percdamp} block ${r.blocksize}${opts.length ? ' ' + opts.join(' ') : ''}`);
    }
    if (r.method === 'rtn' && r.sym) parts.push('sym');
    if (r.method === 'rptq') {
      const c = r.clusters;
      parts.push(`clusters ${c.R1}/${c.R2}/${c.R3}/${c.R4}/${c.R5} restarts ${r.kmeansRestarts}`);
      if (r.normBits !== undefined || r.probBits !== undefined) parts.push(`norm A${r.normBits ?? Math.max(8, r.abits)} probs ${r.probBits ?? Math.max(8, r.abits)}-bit`);
    }
    if (r.hiddenLayerNum) parts.push(`first ${r.hiddenLayerNum} blocks`);
  }
  parts.push(`eval ${s.eval.datasets.join(',')} seqlen ${s.eval.seqlen} windows ${s.eval.windows ?? 'all'}`);
  return parts.join(' · ');
}

/** One setting of an experiment, named as the page shows it. */
export interface SpecField {
  key: string;
  value: string;
}

/**
 * Every setting the experiment's figures depend on, method options included, as (name, value) pairs: the results
 * table's config cell and the compare view (which highlights the ones that differ) read these.
 */
export function specFields(s: ExperimentSpec): SpecField[] {
  const r = s.recipe;
  const out: SpecField[] = [
    { key: 'model', value: describeModel(s.model) },
    { key: 'method', value: recipeLabel(r) },
  ];
  const add = (key: string, value: string | number | boolean) => out.push({ key, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value) });
  if (r.method !== 'fp') {
    add('calibration', `${r.calib} ${r.nsamples}×${r.seqlen}`);
    add('seed', r.seed);
    if (r.method !== 'rptq') add('group size', r.groupsize > 0 ? r.groupsize : 'per row');
    add('sym', r.sym);
    if (r.method === 'gptq' || r.method === 'rptq') {
      add('damp', r.percdamp);
      add('block size', r.blocksize);
      add('act-order', r.actOrder);
      if (r.method === 'gptq') add('static groups', r.staticGroups);
      add('true-sequential', r.trueSequential);
    }
    if (r.method === 'rptq') {
      add('abits', r.abits);
      add('K/V only', r.onlyQuantKv);
      add('norm bits', r.normBits ?? Math.max(8, r.abits));
      add('prob bits', r.probBits ?? Math.max(8, r.abits));
      const c = r.clusters;
      add('clusters R1/R2/R3/R4/R5', `${c.R1}/${c.R2}/${c.R3}/${c.R4}/${c.R5}`);
      add('restarts', r.kmeansRestarts);
      add('channel grouping', r.clustering);
    }
  }
  if (r.hiddenLayerNum) add('blocks', `first ${r.hiddenLayerNum}`);
  add('eval', s.eval.datasets.join(','));
  add('eval seqlen', s.eval.seqlen);
  add('eval windows', s.eval.windows ?? 'all');
  return out;
}
