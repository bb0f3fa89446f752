// Generate, after a run: the run on screen's experiment again with a prompt and nothing to evaluate — the worker finds
// the full-precision model and the quantized blocks where the run left them (IndexedDB) and writes the prompt's
// continuation with each model, streamed into the page as it comes. The report joins the run on screen (Results,
// bundle); a share link carries the prompt and settings, never the text.
import type { StateCreator } from 'zustand';
import type { GenerateRequest, GenerationReport } from '../pipeline/types.ts';
import { GREEDY, samplingError } from '../eval/sampling.ts';
import { cancelRun, runEvaluation } from './workerClient.ts';
import { sourceSpec } from './modelSlice.ts';
import type { LabState } from './labStore.ts';

export const DEFAULT_GENERATE: GenerateRequest = { prompt: 'Once upon a time', maxNewTokens: 64, ...GREEDY };

export interface GenerationState {
  status: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  /** the run (runId) it belongs to: a new run leaves it behind */
  forRun: number;
  /** the text each model has written so far, while it streams */
  streams: { fp: string; quant: string };
  report: GenerationReport | null;
  error: string | null;
}

export interface GenerateSlice {
  /** the Generate panel's prompt and settings */
  genForm: GenerateRequest;
  generation: GenerationState;
  setGenForm(p: Partial<GenerateRequest>): void;
  generate(): Promise<void>;
  cancelGenerate(): void;
}

/** Why Generate cannot start, or null. */
export function generateBlocker(s: LabState): string | null {
  if (!s.result || !s.resultSpec || !s.resultModel) return 'run an experiment first: Generate continues its models';
  if (s.resultBundle !== null) return 'this result was imported from a bundle: run it here to generate';
  if (s.status === 'running') return 'a run is in progress';
  if (!s.genForm.prompt.trim()) return 'the prompt is empty';
  if (!Number.isInteger(s.genForm.maxNewTokens) || s.genForm.maxNewTokens < 1)
    return 'new tokens must be a whole number ≥ 1';
  return samplingError(s.genForm);
}

const IDLE: GenerationState = { status: 'idle', forRun: -1, streams: { fp: '', quant: '' }, report: null, error: null };

export const createGenerateSlice: StateCreator<LabState, [], [], GenerateSlice> = (set, get) => ({
  genForm: DEFAULT_GENERATE,
  generation: IDLE,
  setGenForm(p) {
    set((s) => ({ genForm: { ...s.genForm, ...p } }));
  },
  async generate() {
    const s = get();
    if (generateBlocker(s) || s.generation.status === 'running') return;
    const forRun = s.runId;
    const spec = s.resultSpec!;
    const request = { ...s.genForm };
    set({ generation: { ...IDLE, status: 'running', forRun } });
    const mine = () => get().generation.forRun === forRun && get().generation.status === 'running';
    const outcome = await runEvaluation(
      sourceSpec(s.resultModel!),
      { datasets: [], seqlen: spec.eval.seqlen, checkFinite: true, recipe: spec.recipe, generate: request },
      s.dataBase,
      (p) => {
        if (!mine() || !p.generated) return;
        const { model, text } = p.generated;
        set((st) => ({ generation: { ...st.generation, streams: { ...st.generation.streams, [model]: text } } }));
      },
    );
    if (!mine()) return;
    if (outcome.error || !outcome.result?.generation) {
      const error = outcome.error?.message ?? 'the run wrote no text';
      set((st) => ({ generation: { ...st.generation, status: 'error', error } }));
      return;
    }
    const report = outcome.result.generation;
    set((st) => ({
      generation: { ...st.generation, status: 'done', report },
      // the text belongs to the run on screen: Results, a bundle export and Inspect read it from there
      result: st.runId === forRun && st.result ? { ...st.result, generation: report } : st.result,
    }));
    get().recordGeneration(spec, report);
  },
  cancelGenerate() {
    if (get().generation.status !== 'running') return;
    cancelRun();
    set((st) => ({ generation: { ...st.generation, status: 'cancelled' } }));
  },
});
