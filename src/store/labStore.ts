// One zustand store built from slices: model (what to load), experiment (what to measure), run (what is happening).
// Actions are the only callers of the worker; tensors never enter the store, only summaries.
import { create } from 'zustand';
import type { SourceSpec } from '../pipeline/worker.ts';
import type { EvalResult, Progress } from '../pipeline/types.ts';
import { cancelRun, runEvaluation } from './workerClient.ts';
import { DEFAULT_RECIPE, validateRecipe, type QuantRecipe } from '../quant/recipe.ts';

export const BUNDLED = [
  { id: 'stories260K', label: 'stories260K (bundled, LLaMA, 260K)' },
  { id: 'opt-tiny', label: 'opt-tiny (bundled, OPT, 0.9M)' },
  { id: 'opt-tiny-bpe', label: 'opt-tiny-bpe (bundled, OPT tokenizer, 7.3M)' },
];
export const HUB_PRESETS = ['facebook/opt-125m', 'facebook/opt-1.3b', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', 'HuggingFaceTB/SmolLM2-135M', 'Qwen/Qwen2.5-0.5B'];
export const DATASETS = ['tinystories', 'tinystories-file', 'wikitext2', 'ptb', 'ptb-new', 'c4'];

export type ModelChoice =
  | { kind: 'bundled'; id: string }
  | { kind: 'hub'; repo: string; revision: string }
  | { kind: 'url'; url: string }
  | { kind: 'files'; files: File[]; label: string };

interface ModelSlice {
  model: ModelChoice;
  sharedServed: boolean | null;
  setModel(m: ModelChoice): void;
  probeShared(): Promise<void>;
}
interface ExperimentSlice {
  /** the method and its options; seqlen is shared by calibration and evaluation */
  recipe: QuantRecipe;
  setRecipe(p: Partial<QuantRecipe>): void;
  datasets: string[];
  seqlen: number;
  windows: number | null;
  dataBase: string;
  setExperiment(p: Partial<Pick<ExperimentSlice, 'datasets' | 'seqlen' | 'windows' | 'dataBase'>>): void;
}
interface RunSlice {
  status: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  progress: Progress | null;
  startedAt: number | null;
  result: EvalResult | null;
  error: { kind: string; message: string } | null;
  runId: number;
  run(): Promise<void>;
  cancel(): void;
}

export type LabState = ModelSlice & ExperimentSlice & RunSlice;

/** The form's first problem, shown next to the fields before Run is pressed; null when it can run. */
export function recipeProblem(s: Pick<LabState, 'recipe' | 'seqlen' | 'datasets'>): string | null {
  if (s.datasets.length === 0) return 'Pick at least one dataset.';
  try {
    validateRecipe({ ...s.recipe, seqlen: s.seqlen });
    return null;
  } catch (e) {
    return (e as Error).message.replace(/--(\w+)/g, (_, f: string) => f.replace(/_/g, ' '));
  }
}

export function sourceSpec(m: ModelChoice): SourceSpec {
  switch (m.kind) {
    case 'bundled':
      return { kind: 'url', url: `/shared/models/${m.id}/`, label: m.id };
    case 'hub':
      return { kind: 'hub', repo: m.repo, revision: m.revision };
    case 'url':
      return { kind: 'url', url: m.url };
    case 'files':
      return { kind: 'files', files: m.files, label: m.label };
  }
}

export const useLab = create<LabState>()((set, get) => ({
  // model
  model: { kind: 'bundled', id: 'stories260K' },
  sharedServed: null,
  setModel: (model) => set({ model }),
  async probeShared() {
    const ok = await fetch('/shared/models/stories260K/config.json', { method: 'HEAD' }).then((r) => r.ok, () => false);
    set((s) => ({ sharedServed: ok, model: !ok && s.model.kind === 'bundled' ? { kind: 'hub', repo: HUB_PRESETS[0], revision: 'main' } : s.model }));
  },

  // experiment
  recipe: { ...DEFAULT_RECIPE, calib: 'tinystories', nsamples: 8, seqlen: 512 },
  setRecipe: (p) => set((s) => ({ recipe: { ...s.recipe, ...p, ...(p.method === 'fp' ? { wbits: 16 } : p.method && s.recipe.wbits === 16 ? { wbits: 4 } : {}) } })),
  datasets: ['tinystories'],
  seqlen: 512,
  windows: 4,
  dataBase: '/shared/data/',
  setExperiment: (p) => set(p),

  // run
  status: 'idle',
  progress: null,
  startedAt: null,
  result: null,
  error: null,
  runId: 0,
  async run() {
    const s = get();
    if (s.status === 'running') return;
    const runId = s.runId + 1;
    set({ status: 'running', progress: null, result: null, error: null, startedAt: performance.now(), runId });
    const outcome = await runEvaluation(
      sourceSpec(s.model),
      { datasets: s.datasets, seqlen: s.seqlen, windows: s.windows ?? undefined, checkFinite: true, recipe: { ...s.recipe, seqlen: s.seqlen } },
      s.dataBase,
      (progress) => {
        if (get().runId === runId) set({ progress });
      },
    );
    if (get().runId !== runId) return; // cancelled meanwhile
    if (outcome.error) set({ status: 'error', error: outcome.error });
    else set({ status: 'done', result: outcome.result ?? null });
  },
  cancel() {
    cancelRun();
    set((s) => ({ status: 'cancelled', runId: s.runId + 1 }));
  },
}));
