// The experiment's quantization as one value: shared calibration settings and a recipe of steps — at most one
// transform (RPTQ) then at most one weight step (RTN, GPTQ) — each step a registered method with its own options.
// CLI flags, the page's form, share links, reports and cache keys all speak QuantRecipe; validateRecipe refuses bad
// combinations (each method's own rules, and the order of steps) before any work starts.
import { z } from 'zod';
import { OptionsError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { METHOD_LIST, METHODS } from './index.ts';
import type { Backend } from '../gpu/backend.ts';
import type {
  Baseline,
  CheckContext,
  ClipTraining,
  ColumnGroups,
  LinearInput,
  PrepareContext,
  TransformContext,
  TransformedBlock,
  TransformMethod,
  WeightMethod,
  WeightResult,
} from './method.ts';
import { optionInfos, parseOptions } from './options.ts';

/** the seeded generator's state is 32 bits */
export const MAX_SEED = 2 ** 32 - 1;

/** Calibration settings every step shares (GPTQ protocol). */
export const calibrationOptions = z.strictObject({
  calib: z.string().min(1).max(2000).default('c4').meta({
    flag: 'calib',
    label: 'calibration',
    description: 'a named set (c4, tinystories, tinyshakespeare), a text URL, or (command line only) a text file',
  }),
  nsamples: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .default(128)
    .meta({ flag: 'nsamples', label: 'calibration windows', description: 'random calibration windows' }),
  seqlen: z
    .number()
    .int()
    .min(2)
    .max(1 << 17)
    .default(2048)
    .meta({ flag: 'seqlen', label: 'seqlen', description: 'tokens per calibration window' }),
  seed: z.number().int().min(0).max(MAX_SEED).default(0).meta({
    flag: 'seed',
    label: 'seed',
    description: 'seed of the calibration windows and of every seeded choice of the methods',
  }),
  hiddenLayerNum: z.number().int().min(1).optional().meta({
    flag: 'hidden_layer_num',
    label: 'number of blocks',
    description: 'quantize and run only the first N blocks',
  }),
  scales16: z.boolean().optional().meta({
    flag: 'f16_scales',
    label: 'f16 scales',
    description:
      "each group's scale rounded to f16 once its layer is quantized (the codes kept): what a GPTQ checkpoint stores",
    fallback: false,
  }),
});
export type Calibration = z.infer<typeof calibrationOptions>;

type StepOf<M> = M extends { name: infer N; options: infer S extends z.ZodObject } ? { method: N } & z.infer<S> : never;
/** One step of a recipe: a registered method's name and its options. */
export type Step = StepOf<(typeof METHOD_LIST)[number]>;

export interface QuantRecipe extends Calibration {
  /** [] is full precision */
  steps: Step[];
}

/** A step as the schema checks it: the discriminated union of every registered method's options. */
export const stepSchema = z.discriminatedUnion(
  'method',
  METHOD_LIST.map((m) => m.options.extend({ method: z.literal(m.name) })) as unknown as [
    z.ZodObject<{ method: z.ZodLiteral<string> }>,
    ...z.ZodObject<{ method: z.ZodLiteral<string> }>[],
  ],
);
export const recipeSchema = calibrationOptions.extend({ steps: z.array(stepSchema).max(2) });

/**
 * Options a method had in an earlier version, with the one value they could hold then: an old share link, stored form
 * or result still opens, without them. DuQuant's --lwc was refused until learnable clipping was built; it is now an
 * option of the weight step (rtn --lwc), which quantizes the clipped rows.
 */
const RETIRED_OPTIONS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = { duquant: { lwc: false } };

/** A step's options without the retired ones that hold their one old value (anything else is left to fail). */
export function withoutRetired<S>(method: string, options: S): S {
  const retired = RETIRED_OPTIONS[method];
  if (!retired || !options || typeof options !== 'object') return options;
  const out = { ...options } as Record<string, unknown>;
  for (const [k, v] of Object.entries(retired)) if (out[k] === v) delete out[k];
  return out as S;
}

/** A step's method and options, split. */
function unpack(step: { method: string }): { method: string; options: Record<string, unknown> } {
  const { method, ...options } = step as Record<string, unknown> & { method: string };
  return { method, options: withoutRetired(method, options) };
}

/** A step with its method's defaults filled in; bad values throw OptionsError naming the flag. */
export function completeStep(step: { method: string } & Record<string, unknown>): Step {
  const { method, options } = unpack(step);
  const m = METHODS[method];
  if (!m) throw new OptionsError(`unknown method "${method}"; the lab runs ${Object.keys(METHODS).join(', ')}`);
  return { method, ...parseOptions(m.options, options, method) } as Step;
}

/** A recipe from partial settings and partial steps: every default filled in. */
export function makeRecipe(
  p: Partial<Calibration> & { steps?: ({ method: string } & Record<string, unknown>)[] } = {},
): QuantRecipe {
  const { steps = [], ...cal } = p;
  return { ...calibrationOptions.parse({}), ...cal, steps: steps.map(completeStep) };
}

/**
 * A weight step bound to its options once: the pipeline asks it (bits, label, Hessian, quantize…) and never hands
 * options around.
 */
export interface BoundWeight {
  readonly method: WeightMethod;
  readonly options: Record<string, unknown>;
  codeBits(): number;
  label(): string;
  tag(): string | null;
  describe(): string;
  needsHessian(): boolean;
  sequential(): boolean;
  groups(K: number, fixed?: ColumnGroups): number;
  quantize<T>(be: Backend<T>, layer: LinearInput<T>): Promise<WeightResult<T>>;
  baselines(): Baseline[];
  clipTraining(): ClipTraining | null;
}

/** A transform bound to its options once. */
export interface BoundTransform {
  readonly method: TransformMethod;
  readonly options: Record<string, unknown>;
  activationBits(): number;
  label(wbits: number): string;
  describe(): string;
  baselines(): Baseline[];
  prepare<T>(ctx: PrepareContext<T>): Promise<unknown>;
  block<T>(ctx: TransformContext<T>): Promise<TransformedBlock<unknown>>;
}

export interface ResolvedSteps {
  transform?: BoundTransform;
  weight?: BoundWeight;
}

/** A weight method and its own options, typed as the method declares them. */
function bindWeight<S extends z.ZodObject>(m: WeightMethod<S>, o: z.infer<S>): BoundWeight {
  return {
    method: m as unknown as WeightMethod,
    options: o,
    codeBits: () => m.codeBits(o),
    label: () => m.label(o),
    tag: () => m.tag?.(o) ?? null,
    describe: () => m.describe(o),
    needsHessian: () => m.needsHessian(o),
    sequential: () => m.sequential(o),
    groups: (K, fixed) => m.groups(o, K, fixed),
    quantize: (be, layer) => m.quantize(be, layer, o),
    baselines: () => m.baselines?.(o) ?? [],
    clipTraining: () => m.clipTraining?.(o) ?? null,
  };
}

function bindTransform<S extends z.ZodObject>(m: TransformMethod<S>, o: z.infer<S>): BoundTransform {
  return {
    method: m as unknown as TransformMethod,
    options: o,
    activationBits: () => m.activationBits(o),
    label: (wbits) => m.label(o, wbits),
    describe: () => m.describe(o),
    baselines: () => m.baselines?.(o) ?? [],
    prepare: async (ctx) => m.prepare?.(ctx, o),
    block: (ctx) => m.block(ctx, o),
  };
}

/** The recipe's transform and weight step, each bound to its options (the recipe must be valid). */
export function resolveSteps(r: Pick<QuantRecipe, 'steps'>): ResolvedSteps {
  const out: ResolvedSteps = {};
  for (const step of r.steps) {
    const { method, options } = unpack(step);
    const m = METHODS[method];
    if (m?.kind === 'transform') out.transform = bindTransform(m, options);
    else if (m?.kind === 'weight') out.weight = bindWeight(m, options);
  }
  return out;
}

/** "rptq+gptq", "gptq", "fp": the recipe's chain of methods. */
export function chainOf(r: Pick<QuantRecipe, 'steps'>): string {
  return r.steps.map((s) => s.method).join('+') || 'fp';
}

/** Throws OptionsError naming the first bad option. The model config, when known, checks widths and layer counts. */
export function validateRecipe(r: QuantRecipe, cfg?: ModelConfig): void {
  const bad = (msg: string): never => {
    throw new OptionsError(msg);
  };
  const { steps, ...cal } = r;
  parseOptions(calibrationOptions, cal, 'calibration');
  if (cfg && r.hiddenLayerNum !== undefined && r.hiddenLayerNum > cfg.layers)
    bad(`--hidden_layer_num must be 1..${cfg.layers} for this model (got ${r.hiddenLayerNum})`);
  if (!Array.isArray(steps)) bad('a recipe needs its steps');
  const kinds = steps.map(
    (s) =>
      METHODS[s.method]?.kind ?? bad(`unknown method "${s.method}"; the lab runs ${Object.keys(METHODS).join(', ')}`),
  );
  const order = kinds.join(',');
  if (!['', 'transform', 'weight', 'transform,weight'].includes(order)) {
    bad(
      'a recipe is at most one transform then at most one weight step ' +
        `(got ${steps.map((s) => s.method).join(' → ')})`,
    );
  }
  const { transform } = resolveSteps(r);
  for (const step of steps) {
    const { method, options } = unpack(step);
    const m = METHODS[method];
    const o = parseOptions(m.options, options, method);
    const ctx: CheckContext = {
      cfg,
      bad,
      groupsFixedBy:
        m.kind === 'weight' && transform?.method.fixesWeightGroups
          ? {
              by: transform.method.name,
              why: transform.method.fixesWeightGroups,
              clipped: transform.method.clipsWeights,
            }
          : undefined,
    };
    m.check?.(o, ctx);
  }
}

/** Weight code bits and activation bits of a recipe (16: full precision). */
export function recipeBits(r: Pick<QuantRecipe, 'steps'>): { wbits: number; abits: number } {
  const { transform, weight } = resolveSteps(r);
  return {
    wbits: weight ? weight.codeBits() : 16,
    abits: transform ? transform.activationBits() : 16,
  };
}

/** A short name for a recipe, as the seed tables write it: "RPTQ W4A4KV", "GPTQ W3 g128", "RPTQ+RTN W4A4", "FP". */
export function recipeLabel(r: Pick<QuantRecipe, 'steps'>): string {
  const { transform, weight } = resolveSteps(r);
  // a field being edited (empty, NaN) shows as "?", never as "WNaN"
  const clean = (s: string) => s.replace(/NaN|undefined|null/g, '?');
  if (!transform && !weight) return 'FP';
  const tag = weight?.tag() ? `+${weight.tag()}` : '';
  if (!transform) return clean(`${weight!.method.title}${tag} ${weight!.label()}`);
  const t = transform.method;
  const name = weight && weight.method.name !== t.defaultWeight ? `${t.title}+${weight.method.title}` : t.title;
  return clean(`${name}${tag} ${transform.label(weight ? weight.codeBits() : 16)}`);
}

/** Each step's options as the experiment line shows them (weight step first, as the seed tables list them). */
export function describeSteps(r: Pick<QuantRecipe, 'steps'>): string[] {
  const { transform, weight } = resolveSteps(r);
  return [weight && weight.describe(), transform && transform.describe()].filter((s): s is string => !!s);
}

/** Every option's flag → the form's word for it, from the schemas (calibration and every method); read once. */
let words: Map<string, string> | null = null;
function formWords(): Map<string, string> {
  if (words) return words;
  words = new Map<string, string>([['method', 'method']]);
  for (const schema of [calibrationOptions, ...METHOD_LIST.map((m) => m.options)]) {
    for (const o of optionInfos(schema)) words.set(o.flag.replace(/-/g, '_'), o.label);
  }
  return words;
}

/**
 * A validateRecipe message in the form's words: "--groupsize 7 does not divide…" →
 * "Group size 7 does not divide…".
 */
export function inFormWords(message: string): string {
  const words = formWords();
  return (
    message
      .replace(/--([\w-]+)/g, (_, f: string) => words.get(f.replace(/-/g, '_')) ?? f.replace(/_/g, ' '))
      .replace(/\(got NaN\)/g, '(the field is empty)')
      // a sentence starts with a capital; a message that starts with a URL or a path keeps it as it is
      .replace(/^[a-z](?=[a-z-]*\s)/, (c) => c.toUpperCase())
  );
}
