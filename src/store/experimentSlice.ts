// What to run and what to measure: the recipe, the datasets and windows. Presets give the seed tables' rows in one
// click; recipeProblem explains the first invalid combination next to the fields, in the form's words and against
// the probed model's config (the CLI's rule), before Run is pressed.
import type { StateCreator } from 'zustand';
import { DEFAULT_RECIPE, inFormWords, validateRecipe, type QuantRecipe } from '../quant/recipe.ts';
import { calibrationKind } from '../eval/calibration.ts';
import { isLinkCalibration, type EvalSpec, type ExperimentSpec } from '../pipeline/experimentSpec.ts';
import type { ModelConfig } from '../model/config.ts';
import { describeChoice, modelRef } from './modelSlice.ts';
import type { LabState } from './labStore.ts';

export const DATASETS = ['tinystories', 'tinystories-file', 'wikitext2', 'ptb', 'ptb-new', 'c4'];

/** The seed tables' rows (RPTQ README; GPTQ's W4/W3 g128) and RTN. */
export const PRESETS: { label: string; recipe: Partial<QuantRecipe> }[] = [
  { label: 'W4A16', recipe: { method: 'rptq', wbits: 4, abits: 16, onlyQuantKv: false } },
  { label: 'W4A8', recipe: { method: 'rptq', wbits: 4, abits: 8, onlyQuantKv: false } },
  { label: 'W4A4', recipe: { method: 'rptq', wbits: 4, abits: 4, onlyQuantKv: false } },
  { label: 'W4A4KV', recipe: { method: 'rptq', wbits: 4, abits: 4, onlyQuantKv: true } },
  { label: 'W4A3KV', recipe: { method: 'rptq', wbits: 4, abits: 3, onlyQuantKv: true } },
  { label: 'W3A3KV', recipe: { method: 'rptq', wbits: 3, abits: 3, onlyQuantKv: true } },
  { label: 'GPTQ W4 g128', recipe: { method: 'gptq', wbits: 4, groupsize: 128, abits: 16, onlyQuantKv: false } },
  { label: 'GPTQ W3 g128', recipe: { method: 'gptq', wbits: 3, groupsize: 128, abits: 16, onlyQuantKv: false } },
  { label: 'RTN W4', recipe: { method: 'rtn', wbits: 4, groupsize: -1, abits: 16, onlyQuantKv: false } },
];

export interface ExperimentSlice {
  recipe: QuantRecipe;
  datasets: string[];
  seqlen: number;
  /** first k evaluation windows; null = all */
  windows: number | null;
  dataBase: string;
  /** calibration URLs the user typed or allowed: a URL that came from a link is fetched only once confirmed */
  calibAllowed: string[];
  setRecipe(p: Partial<QuantRecipe>): void;
  /** a calibration source typed or picked in the form (a URL typed by the user needs no confirmation) */
  setCalibration(calib: string): void;
  allowCalibration(url: string): void;
  setExperiment(p: Partial<Pick<ExperimentSlice, 'datasets' | 'seqlen' | 'windows' | 'dataBase'>>): void;
  applyPreset(label: string): void;
  /** the form as an experiment (what a share link carries) */
  spec(): ExperimentSpec;
  applySpec(spec: ExperimentSpec): void;
}

/** The probed config of the selected model, when the probe is of this very choice. */
export function selectedConfig(s: Pick<LabState, 'model' | 'probe'>): ModelConfig | undefined {
  return s.probe.status === 'done' && s.probe.of === describeChoice(s.model) ? s.probe.info?.config : undefined;
}

function presetRecipe(s: Pick<LabState, 'recipe'>, label: string): QuantRecipe | null {
  const p = PRESETS.find((x) => x.label === label);
  return p ? nextRecipe(s.recipe, { ...p.recipe, clustering: 'kmeans' }) : null;
}

/** Why a preset cannot run on the selected model (null: it can, or the model is not probed yet). */
export function presetProblem(s: Pick<LabState, 'recipe' | 'model' | 'probe'>, label: string): string | null {
  const cfg = selectedConfig(s);
  const r = presetRecipe(s, label);
  if (!cfg || !r) return null;
  try {
    validateRecipe(r, cfg);
    return null;
  } catch (e) {
    return inFormWords((e as Error).message);
  }
}

/** The form's first problem, shown next to the fields; null when it can run. */
export function recipeProblem(s: Pick<LabState, 'recipe' | 'seqlen' | 'datasets' | 'model' | 'probe' | 'calibAllowed'>): string | null {
  if (s.datasets.length === 0) return 'Pick at least one dataset.';
  if (s.model.kind === 'files' && s.model.files.length === 0) {
    return `This experiment's model is local files ("${s.model.label}") that only its author has: pick that folder in the Model panel (Local folder…, or drop its files) before running.`;
  }
  const r = s.recipe;
  if (r.method !== 'fp' && calibrationKind(r.calib) !== 'named') {
    if (!isLinkCalibration(r.calib)) return `Calibration must be a named set or an https:// URL of a public host (got "${r.calib}").`;
    if (!s.calibAllowed.includes(r.calib)) return `Confirm the calibration URL ${r.calib} before running: the page fetches it when the run starts.`;
  }
  try {
    validateRecipe({ ...r, seqlen: s.seqlen }, selectedConfig(s));
    return null;
  } catch (e) {
    return inFormWords((e as Error).message);
  }
}

/** Switching method: full precision is 16 bits, a method starts at 4; groups and activation bits follow the method. */
function nextRecipe(prev: QuantRecipe, p: Partial<QuantRecipe>): QuantRecipe {
  const next = { ...prev, ...p };
  if (p.method === 'fp') next.wbits = 16;
  else if (p.method && p.wbits === undefined && next.wbits === 16 && (p.method !== 'rptq' || prev.method === 'fp')) next.wbits = 4;
  if (p.method && p.method !== 'rptq') (next.abits = 16), (next.onlyQuantKv = false);
  if (p.method === 'rptq') (next.groupsize = -1), (next.staticGroups = false);
  return next;
}

export const createExperimentSlice: StateCreator<LabState, [], [], ExperimentSlice> = (set, get) => ({
  recipe: { ...DEFAULT_RECIPE, calib: 'tinystories', nsamples: 8, seqlen: 512 },
  datasets: ['tinystories'],
  seqlen: 512,
  windows: 4,
  dataBase: '/shared/data/',
  calibAllowed: [],
  setRecipe: (p) => set((s) => ({ recipe: nextRecipe(s.recipe, p) })),
  setCalibration: (calib) =>
    set((s) => ({ recipe: { ...s.recipe, calib }, calibAllowed: calibrationKind(calib) === 'url' ? [...new Set([...s.calibAllowed, calib])] : s.calibAllowed })),
  allowCalibration: (url) => set((s) => ({ calibAllowed: [...new Set([...s.calibAllowed, url])] })),
  setExperiment: (p) => set(p),
  applyPreset(label) {
    const r = presetRecipe(get(), label);
    if (r) set({ recipe: r });
  },
  spec() {
    const s = get();
    const ev: EvalSpec = { datasets: s.datasets, seqlen: s.seqlen, windows: s.windows };
    return { model: modelRef(s.model), recipe: { ...s.recipe, seqlen: s.seqlen }, eval: ev };
  },
  applySpec(spec) {
    set({ recipe: spec.recipe, datasets: spec.eval.datasets, seqlen: spec.eval.seqlen, windows: spec.eval.windows });
    // local files cannot travel in a link: the form names them and asks for the folder before anything runs
    if (spec.model.kind === 'local') get().setModel({ kind: 'files', files: [], label: spec.model.label }, { probe: false });
    else get().setModel(spec.model, { probe: false });
  },
});
