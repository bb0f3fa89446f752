// What to run and what to measure: a chain of methods (a transform, then a weight step), every method's options (kept
// while another chain is chosen, so switching back restores them), the calibration, the datasets and windows. The
// recipe is derived from these (formRecipe). Presets come from the methods; recipeProblem explains the first invalid
// combination next to the fields, in the form's words and against the probed model's config, before Run is pressed.
import type { StateCreator } from 'zustand';
import { baselineNames } from '../quant/baselines.ts';
import { inFormWords, makeRecipe, resolveSteps, validateRecipe, type QuantRecipe } from '../quant/recipe.ts';
import { METHOD_LIST, METHODS, PRESETS, type WeightMethod } from '../quant/index.ts';
import { calibrationKind } from '../eval/calibration.ts';
import { ZERO_SHOT_TASKS } from '../eval/zeroShotTasks.ts';
import { isLinkCalibration, type EvalSpec, type ExperimentSpec } from '../pipeline/experimentSpec.ts';
import type { ModelConfig } from '../model/config.ts';
import { describeChoice, modelRef } from './modelSlice.ts';
import type { LabState } from './labStore.ts';

export const DATASETS = ['tinystories', 'tinystories-file', 'wikitext2', 'ptb', 'ptb-new', 'c4'];
export { PRESETS };

type Options = Record<string, unknown>;

/** Every registered method's options at their schema defaults. */
export function defaultOptions(): Record<string, Options> {
  return Object.fromEntries(METHOD_LIST.map((m) => [m.name, { ...m.options.parse({}) }]));
}

export interface ExperimentSlice {
  /** the methods that run, as --method words: 'fp', 'gptq', 'rptq+gptq'… */
  chain: string;
  /** every method's options, chosen or not */
  options: Record<string, Options>;
  calib: string;
  nsamples: number;
  seed: number;
  /** quantize and run only the first N blocks; undefined = all */
  hiddenLayerNum?: number;
  /** each group's scale rounded to f16 once its layer is quantized (--f16_scales): what a GPTQ checkpoint stores */
  scales16: boolean;
  datasets: string[];
  seqlen: number;
  /** first k evaluation windows; null = all */
  windows: number | null;
  /** also run the steps' baselines (CLAQ: GPTQ at the same bits) */
  baselines: boolean;
  /** zero-shot tasks (lm-eval names) */
  tasks: string[];
  /** the first N items of each task; null = all */
  limit: number | null;
  dataBase: string;
  /** calibration URLs the user typed or allowed: a URL that came from a link is fetched only once confirmed */
  calibAllowed: string[];
  setChain(chain: string): void;
  setOption(method: string, key: string, value: unknown): void;
  setCalibrationField(p: Partial<Pick<ExperimentSlice, 'nsamples' | 'seed' | 'hiddenLayerNum' | 'scales16'>>): void;
  /** a calibration source typed or picked in the form (a URL typed by the user needs no confirmation) */
  setCalibration(calib: string): void;
  allowCalibration(url: string): void;
  setExperiment(
    p: Partial<Pick<ExperimentSlice, 'datasets' | 'seqlen' | 'windows' | 'baselines' | 'dataBase' | 'tasks' | 'limit'>>,
  ): void;
  applyPreset(label: string): void;
  /** the form as an experiment (what a share link carries) */
  spec(): ExperimentSpec;
  /** fromLink: the experiment came from a share link (a model URL it names is read only once the user allows it) */
  applySpec(spec: ExperimentSpec, opts?: { fromLink?: boolean }): void;
}

/** What the page keeps of the form across reloads (localStorage): the model and every field of the experiment. */
export const FORM_KEYS = [
  'model',
  'chain',
  'options',
  'calib',
  'nsamples',
  'seed',
  'hiddenLayerNum',
  'scales16',
  'datasets',
  'seqlen',
  'windows',
  'baselines',
  'tasks',
  'limit',
  'dataBase',
] as const;
export type FormSnapshot = Pick<LabState, (typeof FORM_KEYS)[number]>;

/** The form as it stands (a copy of its fields). */
export function pickForm(s: LabState): FormSnapshot {
  return Object.fromEntries(FORM_KEYS.map((k) => [k, s[k]])) as FormSnapshot;
}

type FormState = Pick<LabState, 'chain' | 'options' | 'calib' | 'nsamples' | 'seed' | 'seqlen' | 'hiddenLayerNum'> &
  Partial<Pick<LabState, 'scales16'>>;

/**
 * The form's recipe: the chain's steps with their options, and the shared calibration (its window length is the
 * evaluation seqlen). After a transform that fixes the weight groups, the weight step's group options stay at their
 * defaults (the form does not show them).
 */
export function formRecipe(s: FormState): QuantRecipe {
  const names = s.chain === 'fp' ? [] : s.chain.split('+');
  const fixed = names.some((n) => METHODS[n]?.kind === 'transform' && METHODS[n].fixesWeightGroups);
  const steps = names.map((method) => {
    const m = METHODS[method];
    const o: Options = { ...s.options[method] };
    if (fixed && m?.kind === 'weight') {
      const defaults = m.options.parse({}) as Options;
      for (const k of (m as WeightMethod).groupOptions) o[k] = defaults[k];
    }
    return { ...o, method };
  });
  // f16 scales only when ticked: a recipe without them stays the one it always was (cache keys, links)
  return {
    calib: s.calib,
    nsamples: s.nsamples,
    seqlen: s.seqlen,
    seed: s.seed,
    ...(s.hiddenLayerNum !== undefined ? { hiddenLayerNum: s.hiddenLayerNum } : {}),
    ...(s.scales16 && names.length ? { scales16: true } : {}),
    steps: steps as QuantRecipe['steps'],
  };
}

/** The probed config of the selected model, when the probe is of this very choice. */
export function selectedConfig(s: Pick<LabState, 'model' | 'probe'>): ModelConfig | undefined {
  return s.probe.status === 'done' && s.probe.of === describeChoice(s.model) ? s.probe.info?.config : undefined;
}

/**
 * The form after a preset: its chain, and each of its steps at the method's defaults plus what the preset sets (a
 * preset is one recipe, whatever the form held before: DuQuant + LWC must not keep a typed --swc that would win).
 */
function withPreset(s: FormState, label: string): FormState | null {
  const p = PRESETS.find((x) => x.label === label);
  if (!p) return null;
  const options = { ...s.options };
  const defaults = defaultOptions();
  for (const { method, ...o } of p.steps) options[method] = { ...defaults[method], ...o };
  return { ...s, chain: p.steps.map((x) => x.method).join('+'), options };
}

/** Why a preset cannot run on the selected model (null: it can, or the model is not probed yet). */
export function presetProblem(s: FormState & Pick<LabState, 'model' | 'probe'>, label: string): string | null {
  const cfg = selectedConfig(s);
  const next = withPreset(s, label);
  if (!cfg || !next) return null;
  try {
    validateRecipe(formRecipe(next), cfg);
    return null;
  } catch (e) {
    return inFormWords((e as Error).message);
  }
}

/** The form's first problem, shown next to the fields; null when it can run. */
export function recipeProblem(
  s: FormState & Pick<LabState, 'datasets' | 'tasks' | 'limit' | 'model' | 'probe' | 'calibAllowed'>,
): string | null {
  if (s.datasets.length === 0 && s.tasks.length === 0) return 'Pick at least one perplexity dataset or zero-shot task.';
  if (s.tasks.length && s.limit !== null && (!Number.isInteger(s.limit) || s.limit < 1))
    return 'Items per task must be a positive integer (blank = all).';
  if (s.model.kind === 'files' && s.model.files.length === 0) {
    return (
      `This experiment's model is local files ("${s.model.label}") that only its author has: ` +
      'pick that folder in the Model panel (Local folder…, or drop its files) before running.'
    );
  }
  const r = formRecipe(s);
  if (r.steps.length && calibrationKind(r.calib) !== 'named') {
    if (!isLinkCalibration(r.calib))
      return `Calibration must be a named set or an https:// URL of a public host (got "${r.calib}").`;
    if (!s.calibAllowed.includes(r.calib))
      return `Confirm the calibration URL ${r.calib} before running: the page fetches it when the run starts.`;
  }
  try {
    validateRecipe(r, selectedConfig(s));
    return null;
  } catch (e) {
    return inFormWords((e as Error).message);
  }
}

export const createExperimentSlice: StateCreator<LabState, [], [], ExperimentSlice> = (set, get) => ({
  chain: 'fp',
  options: defaultOptions(),
  calib: 'tinystories',
  nsamples: 8,
  seed: 0,
  scales16: false,
  datasets: ['tinystories'],
  seqlen: 512,
  windows: 4,
  baselines: false,
  tasks: [],
  limit: 100,
  dataBase: '/shared/data/',
  calibAllowed: [],
  setChain: (chain) => set({ chain }),
  setOption: (method, key, value) =>
    set((s) => ({ options: { ...s.options, [method]: { ...s.options[method], [key]: value } } })),
  setCalibrationField: (p) => set(p),
  setCalibration: (calib) =>
    set((s) => ({
      calib,
      calibAllowed: calibrationKind(calib) === 'url' ? [...new Set([...s.calibAllowed, calib])] : s.calibAllowed,
    })),
  allowCalibration: (url) => set((s) => ({ calibAllowed: [...new Set([...s.calibAllowed, url])] })),
  setExperiment: (p) => set(p),
  applyPreset(label) {
    const next = withPreset(get(), label);
    if (next) set({ chain: next.chain, options: next.options });
  },
  spec() {
    const s = get();
    // the flag travels only where the chain offers baselines (the checkbox is hidden otherwise)
    const ev: EvalSpec = {
      datasets: s.datasets,
      seqlen: s.seqlen,
      windows: s.windows,
      ...(s.baselines && baselineNames(s.chain).length ? { baselines: true } : {}),
      // tasks in the registry's order, so the same choice is the same experiment
      ...(s.tasks.length ? { tasks: ZERO_SHOT_TASKS.filter((t) => s.tasks.includes(t)), limit: s.limit } : {}),
    };
    return { model: modelRef(s.model), recipe: formRecipe(s), eval: ev };
  },
  applySpec(spec, opts = {}) {
    const r = makeRecipe(spec.recipe);
    // the link's steps replace those methods' options whole (an option the link leaves out is its default, not
    // whatever the form held); other methods keep the form's
    const options = { ...get().options };
    const defaults = defaultOptions();
    for (const { method, ...o } of r.steps) options[method] = { ...defaults[method], ...o };
    const { transform, weight } = resolveSteps(r);
    const chain = [transform?.method.name, weight?.method.name].filter(Boolean).join('+') || 'fp';
    set({
      chain,
      options,
      calib: r.calib,
      nsamples: r.nsamples,
      seed: r.seed,
      hiddenLayerNum: r.hiddenLayerNum,
      scales16: r.scales16 ?? false,
      datasets: spec.eval.datasets,
      seqlen: spec.eval.seqlen,
      windows: spec.eval.windows,
      baselines: spec.eval.baselines ?? false,
      tasks: spec.eval.tasks ?? [],
      ...(spec.eval.tasks ? { limit: spec.eval.limit ?? null } : {}),
    });
    // local files cannot travel in a link: the form names them and asks for the folder before anything runs
    if (spec.model.kind === 'local')
      get().setModel({ kind: 'files', files: [], label: spec.model.label }, { probe: false });
    else get().setModel(spec.model, { fromLink: opts.fromLink });
  },
});
