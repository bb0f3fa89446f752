// The whole experiment as one serializable value: which model, the recipe, what to evaluate. The page's form, share
// links, the CLI's --from-link and cache keys all speak it. Its schema (zod) is the gate every outside value passes:
// a link someone edited is checked field by field before anything in the page changes.
import { z } from 'zod';
import { CALIBRATION_SETS } from '../eval/calibration.ts';
import { EVAL_DATASETS } from '../eval/datasets.ts';
import { ZERO_SHOT_TASKS } from '../eval/zeroShotTasks.ts';
import { parseHubId } from '../model/source.ts';
import { calibrationOptions, describeSteps, recipeLabel, stepSchema, type QuantRecipe } from '../quant/recipe.ts';
import { METHODS } from '../quant/index.ts';
import { optionInfos } from '../quant/options.ts';

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
  /** also run the steps' baselines in the same run (RPTQ's groupings, DuQuant's, CLAQ's GPTQ) */
  baselines?: boolean;
  /** zero-shot tasks (lm-eval names) */
  tasks?: string[];
  /** the first N items of each task; null = all */
  limit?: number | null;
}

export interface ExperimentSpec {
  model: ModelRef;
  recipe: QuantRecipe;
  eval: EvalSpec;
}

/** A task's figures as a link and the Results table carry them. */
export interface TaskFigures {
  items: number;
  acc: number;
  accNorm?: number;
  perplexity?: number;
}

/** What a link may carry of a run's outcome: figures only, never tensors. */
export interface ResultSummary {
  label: string;
  ppl: Record<string, number>;
  pplBefore?: Record<string, number>;
  /** zero-shot accuracy by task (and lambada's perplexity) */
  tasks?: Record<string, TaskFigures>;
  tasksBefore?: Record<string, TaskFigures>;
  /** mean bits per weight over the quantized layers */
  bitsPerWeight?: number;
  /** of which the codes; the rest is scales and zeros (or CLAQ's codebooks and reserved values: bitsOverhead) */
  codeBits?: number;
  bitsOverhead?: string;
  /** bits per weight of the checkpoint's linear layers as stored (32 for F32, 16 for F16/BF16) */
  checkpointBits?: number;
  /** the checkpoint's bytes, and the same model with its quantized layers at their bits */
  checkpointBytes?: number;
  storedBytes?: number;
  /** what the figures carry (the calibration text overlapping an evaluation text) */
  warnings?: string[];
  quantizeMs?: number;
  device?: string;
}

/**
 * A calibration source a link may name: a named set, or an https URL on a public host name (no paths, no local hosts).
 */
export function isLinkCalibration(calib: string): boolean {
  if ((CALIBRATION_SETS as readonly string[]).includes(calib)) return true;
  try {
    const u = new URL(calib);
    return (
      u.protocol === 'https:' &&
      z.regexes.domain.test(u.hostname) &&
      !/(^|\.)localhost$/i.test(u.hostname) &&
      !u.username &&
      !u.password &&
      !u.href.includes('/../')
    );
  } catch {
    return false;
  }
}

const name = (re: RegExp, what: string) => z.string().max(200).regex(re, `not a valid ${what}`);

export const modelRefSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('bundled'), id: name(/^[\w.-]+$/, 'bundled model id') }),
  z.object({
    kind: z.literal('hub'),
    repo: z
      .string()
      .max(200)
      .refine((r) => parseHubId(r) !== null, 'not a Hub repo id (org/name)'),
    revision: name(/^[\w./-]+$/, 'revision'),
  }),
  z.object({ kind: z.literal('url'), url: z.url({ protocol: /^https?$/ }).max(2000) }),
  z.object({ kind: z.literal('local'), label: z.string().max(200) }),
]);

/** The calibration source a link may carry (see isLinkCalibration). */
export const linkCalibration = z
  .string()
  .max(2000)
  .refine(
    isLinkCalibration,
    `the calibration source must be a named set (${CALIBRATION_SETS.join(', ')}) ` +
      'or an absolute https:// URL of a public host, not a path',
  );

/** A recipe as a link carries it: the calibration settings and the steps, each checked by its method's schema. */
export const recipeSchema = calibrationOptions.extend({ calib: linkCalibration, steps: z.array(stepSchema).max(2) });

export const experimentSchema = z.strictObject({
  model: modelRefSchema,
  recipe: recipeSchema,
  eval: z
    .strictObject({
      datasets: z.array(z.enum(EVAL_DATASETS)).max(EVAL_DATASETS.length),
      seqlen: z
        .number()
        .int()
        .min(2)
        .max(1 << 17),
      windows: z.number().int().min(1).nullable(),
      baselines: z.boolean().optional(),
      tasks: z.array(z.enum(ZERO_SHOT_TASKS)).min(1).max(ZERO_SHOT_TASKS.length).optional(),
      limit: z.number().int().min(1).nullable().optional(),
    })
    .refine(
      (e) => e.datasets.length > 0 || (e.tasks?.length ?? 0) > 0,
      'the experiment evaluates nothing: name a perplexity dataset or a zero-shot task',
    ),
});

/** A Generate panel's prompt and settings as a link carries them (the text it produced never travels). */
export const generateSchema = z.strictObject({
  prompt: z.string().min(1).max(2000),
  maxNewTokens: z.number().int().min(1).max(4096),
  temperature: z.number().min(0).max(100),
  topK: z
    .number()
    .int()
    .min(0)
    .max(1 << 20),
  topP: z.number().gt(0).max(1),
  repetitionPenalty: z.number().gt(0).max(100),
  seed: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
});

const figures = z.partialRecord(z.enum(EVAL_DATASETS), z.number().positive());
const accuracy = z.number().min(0).max(1);
const taskFigures = z.partialRecord(
  z.enum(ZERO_SHOT_TASKS),
  z.strictObject({
    items: z.number().int().min(1),
    acc: accuracy,
    accNorm: accuracy.optional(),
    perplexity: z.number().positive().optional(),
  }),
);
export const resultSummarySchema = z.strictObject({
  label: z.string().max(200),
  ppl: figures,
  pplBefore: figures.optional(),
  tasks: taskFigures.optional(),
  tasksBefore: taskFigures.optional(),
  bitsPerWeight: z.number().positive().max(64).optional(),
  codeBits: z.number().positive().max(64).optional(),
  bitsOverhead: z.enum(['scales/zeros', 'codebooks and reserved values']).optional(),
  checkpointBits: z.number().positive().max(64).optional(),
  checkpointBytes: z.number().int().positive().optional(),
  storedBytes: z.number().int().positive().optional(),
  warnings: z.array(z.string().max(500)).max(10).optional(),
  quantizeMs: z.number().nonnegative().optional(),
  device: z.string().max(300).optional(),
});

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
 * "bundled stories260K · RPTQ W4A4 · calib tinystories 128×2048 seed 0 · damp 0.01 block 128 ·
 * clusters 32/4/4/32/32 restarts 10 · eval tinystories seqlen 512 windows all".
 */
export function describeSpec(s: ExperimentSpec): string {
  const r = s.recipe;
  const parts = [describeModel(s.model), recipeLabel(r)];
  if (r.steps.length) {
    parts.push(`calib ${r.calib} ${r.nsamples}×${r.seqlen} seed ${r.seed}`, ...describeSteps(r));
    if (r.hiddenLayerNum) parts.push(`first ${r.hiddenLayerNum} blocks`);
    if (r.scales16) parts.push('f16 scales');
  }
  if (s.eval.datasets.length)
    parts.push(`eval ${s.eval.datasets.join(',')} seqlen ${s.eval.seqlen} windows ${s.eval.windows ?? 'all'}`);
  if (s.eval.tasks?.length) parts.push(`tasks ${s.eval.tasks.join(',')} items ${s.eval.limit ?? 'all'}`);
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
  const add = (key: string, value: unknown) =>
    out.push({ key, value: typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value) });
  if (r.steps.length) {
    add('steps', r.steps.map((st) => METHODS[st.method]?.title ?? st.method).join(' → '));
    add('calibration', `${r.calib} ${r.nsamples}×${r.seqlen}`);
    add('seed', r.seed);
    // every option of every step, under the form's words (a method's options come from its schema)
    for (const step of r.steps) {
      const m = METHODS[step.method];
      if (!m) continue;
      for (const o of optionInfos(m.options)) {
        const v = (step as Record<string, unknown>)[o.key];
        add(o.label, v === undefined ? (o.fallback ?? 'default') : o.key === 'groupsize' && v === -1 ? 'per row' : v);
      }
    }
  }
  if (r.hiddenLayerNum) add('blocks', `first ${r.hiddenLayerNum}`);
  if (r.steps.length && r.scales16) add('scales', 'f16');
  add('eval', s.eval.datasets.join(','));
  add('eval seqlen', s.eval.seqlen);
  add('eval windows', s.eval.windows ?? 'all');
  if (s.eval.tasks?.length) {
    add('tasks', s.eval.tasks.join(','));
    add('task items', s.eval.limit ?? 'all');
  }
  return out;
}
