// The run: one experiment in the worker, with a progress bar per stage (load, quantize, evaluate) and cancel.
// A finished run is added to the results table.
import { allBaselines } from '../quant/baselines.ts';
import type { StateCreator } from 'zustand';
import type { EvalResult, Progress, Stage } from '../pipeline/types.ts';
import { cancelRun, runEvaluation } from './workerClient.ts';
import { sourceSpec, type ModelChoice } from './modelSlice.ts';
import type { LabState } from './labStore.ts';

export interface RunSlice {
  status: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  progress: Progress | null;
  /** the latest report of each stage, and when the stage began (performance.now) */
  stages: Partial<Record<Stage, Progress & { since: number }>>;
  /** zero-shot progress by phase and task ("FP piqa"): items done of total, items/s */
  taskProgress: Record<string, { phase: string; task: string; done: number; total: number; perSecond: number }>;
  startedAt: number | null;
  finishedAt: number | null;
  result: EvalResult | null;
  /** the model the current result ran on (export reads what the run did not change from it) */
  resultModel: ModelChoice | null;
  /** the bundle the current result was imported from (its label), null when it ran here */
  resultBundle: string | null;
  error: { kind: string; message: string } | null;
  runId: number;
  run(): Promise<void>;
  cancel(): void;
}

export const createRunSlice: StateCreator<LabState, [], [], RunSlice> = (set, get) => ({
  status: 'idle',
  progress: null,
  stages: {},
  taskProgress: {},
  startedAt: null,
  finishedAt: null,
  result: null,
  resultModel: null,
  resultBundle: null,
  error: null,
  runId: 0,
  async run() {
    const s = get();
    if (s.status === 'running') return;
    const runId = s.runId + 1;
    const spec = s.spec();
    set({ status: 'running', progress: null, stages: {}, taskProgress: {}, result: null, resultModel: null, resultBundle: null, exporting: { status: 'idle' }, error: null, startedAt: performance.now(), finishedAt: null, runId });
    const outcome = await runEvaluation(
      sourceSpec(s.model),
      {
        datasets: spec.eval.datasets,
        seqlen: spec.eval.seqlen,
        windows: spec.eval.windows ?? undefined,
        checkFinite: true,
        recipe: spec.recipe,
        baselines: spec.eval.baselines && allBaselines(spec.recipe).length ? allBaselines(spec.recipe) : undefined,
        tasks: spec.eval.tasks,
        limit: spec.eval.limit ?? undefined,
      },
      s.dataBase,
      (progress) => {
        if (get().runId !== runId) return;
        set((st) => ({
          progress,
          stages: { ...st.stages, [progress.stage]: { ...progress, since: st.stages[progress.stage]?.since ?? performance.now() } },
          ...(progress.items ? { taskProgress: { ...st.taskProgress, [progress.items.phase + progress.items.task]: progress.items } } : {}),
        }));
      },
    );
    if (get().runId !== runId) return; // cancelled meanwhile
    if (outcome.error) {
      set({ status: 'error', error: outcome.error, finishedAt: performance.now() });
      return;
    }
    const result = outcome.result!;
    set({ status: 'done', result, resultModel: s.model, finishedAt: performance.now() });
    get().addRun(spec, result, performance.now() - get().startedAt!);
  },
  cancel() {
    cancelRun();
    set((s) => ({ status: 'cancelled', runId: s.runId + 1, finishedAt: performance.now() }));
  },
});
