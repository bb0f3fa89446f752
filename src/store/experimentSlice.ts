// What to run and what to measure: the recipe, the datasets and windows. Presets give the seed tables' rows in one
// click; recipeProblem explains the first invalid combination next to the fields, before Run is pressed.
import type { StateCreator } from 'zustand';
import { DEFAULT_RECIPE, validateRecipe, type QuantRecipe } from '../quant/recipe.ts';
import type { EvalSpec, ExperimentSpec } from '../pipeline/experimentSpec.ts';
import { modelRef } from './modelSlice.ts';
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
  setRecipe(p: Partial<QuantRecipe>): void;
  setExperiment(p: Partial<Pick<ExperimentSlice, 'datasets' | 'seqlen' | 'windows' | 'dataBase'>>): void;
  applyPreset(label: string): void;
  /** the form as an experiment (what a share link carries) */
  spec(): ExperimentSpec;
  applySpec(spec: ExperimentSpec): void;
}

/** The form's first problem, shown next to the fields; null when it can run. */
export function recipeProblem(s: Pick<LabState, 'recipe' | 'seqlen' | 'datasets'>): string | null {
  if (s.datasets.length === 0) return 'Pick at least one dataset.';
  try {
    validateRecipe({ ...s.recipe, seqlen: s.seqlen });
    return null;
  } catch (e) {
    return (e as Error).message.replace(/--(\w+)/g, (_, f: string) => f.replace(/_/g, ' '));
  }
}

export const createExperimentSlice: StateCreator<LabState, [], [], ExperimentSlice> = (set, get) => ({
  recipe: { ...DEFAULT_RECIPE, calib: 'tinystories', nsamples: 8, seqlen: 512 },
  datasets: ['tinystories'],
  seqlen: 512,
  windows: 4,
  dataBase: '/shared/data/',
  setRecipe: (p) =>
    set((s) => {
      const next = { ...s.recipe, ...p };
      // switching method: full precision is 16 bits, a method starts at 4; groups and activation bits follow the method
      if (p.method === 'fp') next.wbits = 16;
      else if (p.method && p.wbits === undefined && next.wbits === 16 && (p.method !== 'rptq' || s.recipe.method === 'fp')) next.wbits = 4;
      if (p.method && p.method !== 'rptq') (next.abits = 16), (next.onlyQuantKv = false);
      if (p.method === 'rptq') (next.groupsize = -1), (next.staticGroups = false);
      return { recipe: next };
    }),
  setExperiment: (p) => set(p),
  applyPreset(label) {
    const p = PRESETS.find((x) => x.label === label);
    if (p) get().setRecipe({ ...p.recipe, clustering: 'kmeans' });
  },
  spec() {
    const s = get();
    const ev: EvalSpec = { datasets: s.datasets, seqlen: s.seqlen, windows: s.windows };
    return { model: modelRef(s.model), recipe: { ...s.recipe, seqlen: s.seqlen }, eval: ev };
  },
  applySpec(spec) {
    set({ recipe: spec.recipe, datasets: spec.eval.datasets, seqlen: spec.eval.seqlen, windows: spec.eval.windows });
    if (spec.model.kind !== 'local') get().setModel(spec.model, { probe: false });
  },
});
