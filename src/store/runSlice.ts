// The run: one experiment in the worker, with its stages listed in the order they run (load, full-precision
// evaluation, calibrate and quantize, evaluation, baselines), each once, and cancel. A finished run is added to the
// results table and keeps the experiment that produced it (the form may change afterwards; the figures do not).
// Where a recipe keeps its finished blocks is remembered (localStorage), so after a reload the page can say that Run
// resumes from the blocks already in this browser's storage.
import { allBaselines } from '../quant/baselines.ts';
import type { StateCreator } from 'zustand';
import { plannedStages, type EvalResult, type Stage } from '../pipeline/types.ts';
import type { ExperimentSpec } from '../pipeline/experimentSpec.ts';
import { canonicalJson } from '../pipeline/cache.ts';
import { cancelRun, runEvaluation } from './workerClient.ts';
import { sourceSpec, type ModelChoice } from './modelSlice.ts';
import { advance, type StageProgress } from './progressEstimate.ts';
import type { LabState } from './labStore.ts';

/** Where one recipe's finished blocks are kept (the cache key prefix the worker reported) and how many it has. */
export interface KnownBlocks {
  /** the model and recipe (blockIdentity) */
  of: string;
  blockKey: string;
  blocks: number;
}

/**
 * What a recipe's blocks depend on: the model and the recipe (not how many blocks a run stops at, nor the evaluation).
 */
export function blockIdentity(spec: Pick<ExperimentSpec, 'model' | 'recipe'>): string {
  return canonicalJson({ model: spec.model, recipe: { ...spec.recipe, hiddenLayerNum: undefined } });
}

export interface RunSlice {
  status: 'idle' | 'running' | 'done' | 'error' | 'cancelled';
  /** the stages this run passes through, in order */
  plan: Stage[];
  /** the stage running now (the last one that reported) */
  current: Stage | null;
  /** each stage's latest report, when it began and its time estimate */
  stages: Partial<Record<Stage, StageProgress>>;
  /** learnable weight clipping while the run trains: each block's mean loss per epoch so far */
  training: { epochs: number; blocks: { layer: number; losses: number[] }[] } | null;
  /** zero-shot progress by phase and task ("FP piqa"): items done of total, items/s */
  taskProgress: Record<string, { phase: string; task: string; done: number; total: number; perSecond: number }>;
  startedAt: number | null;
  finishedAt: number | null;
  result: EvalResult | null;
  /** the experiment the current result ran (or the bundle recorded) */
  resultSpec: ExperimentSpec | null;
  /** the model the current result ran on (export reads what the run did not change from it) */
  resultModel: ModelChoice | null;
  /** the bundle the current result was imported from (its label), null when it ran here */
  resultBundle: string | null;
  error: { kind: string; message: string } | null;
  /** a new number for every run (and every imported result): what the Inspect views tag what they show with */
  runId: number;
  /** recipes whose blocks a run started to keep, newest first (kept across reloads) */
  knownBlocks: KnownBlocks[];
  run(): Promise<void>;
  cancel(): void;
}

export const createRunSlice: StateCreator<LabState, [], [], RunSlice> = (set, get) => ({
  status: 'idle',
  plan: [],
  current: null,
  stages: {},
  training: null,
  taskProgress: {},
  startedAt: null,
  finishedAt: null,
  result: null,
  resultSpec: null,
  resultModel: null,
  resultBundle: null,
  error: null,
  runId: 0,
  knownBlocks: [],
  async run() {
    const s = get();
    if (s.status === 'running') return;
    // running a link's experiment takes it as the user's own
    if (s.shared) s.acceptLink();
    // one job at a time in the worker: a generation in progress stops
    s.cancelGenerate();
    const runId = s.runId + 1;
    const spec = s.spec();
    const model = s.model;
    const baselines = spec.eval.baselines && allBaselines(spec.recipe).length ? allBaselines(spec.recipe) : undefined;
    const plan = plannedStages({ quantize: spec.recipe.steps.length > 0, before: true, baselines: !!baselines });
    set({
      status: 'running',
      plan,
      current: null,
      stages: {},
      training: null,
      taskProgress: {},
      result: null,
      resultSpec: null,
      resultModel: null,
      resultBundle: null,
      exporting: { status: 'idle' },
      error: null,
      startedAt: performance.now(),
      finishedAt: null,
      runId,
      // what Inspect showed belongs to the previous result
      weightView: { status: 'idle' },
      activationMap: { status: 'idle' },
    });
    const identity = blockIdentity(spec);
    const outcome = await runEvaluation(
      sourceSpec(model),
      {
        datasets: spec.eval.datasets,
        seqlen: spec.eval.seqlen,
        windows: spec.eval.windows ?? undefined,
        checkFinite: true,
        recipe: spec.recipe,
        baselines,
        tasks: spec.eval.tasks,
        limit: spec.eval.limit ?? undefined,
      },
      s.dataBase,
      (progress) => {
        if (get().runId !== runId) return;
        const now = performance.now();
        set((st) => ({
          current: progress.stage,
          stages: { ...st.stages, [progress.stage]: advance(st.stages[progress.stage], progress, now) },
          ...(progress.items
            ? { taskProgress: { ...st.taskProgress, [progress.items.phase + progress.items.task]: progress.items } }
            : {}),
          // the recipe's own training (a baseline's would mix into its curves)
          ...(progress.training && progress.stage === 'quantize'
            ? {
                training: {
                  epochs: progress.training.epochs,
                  blocks: [
                    ...(st.training?.blocks ?? []).filter((b) => b.layer !== progress.training!.layer),
                    { layer: progress.training.layer, losses: progress.training.losses },
                  ],
                },
              }
            : {}),
          ...(progress.stage === 'quantize' && progress.blockKey && st.knownBlocks[0]?.blockKey !== progress.blockKey
            ? {
                knownBlocks: [
                  { of: identity, blockKey: progress.blockKey, blocks: progress.blocks ?? 0 },
                  ...st.knownBlocks.filter((k) => k.of !== identity),
                ].slice(0, 50),
              }
            : {}),
        }));
      },
    );
    if (get().runId !== runId) return; // cancelled meanwhile
    if (outcome.error) {
      set({ status: 'error', error: outcome.error, finishedAt: performance.now() });
      return;
    }
    const result = outcome.result!;
    set({ status: 'done', result, resultSpec: spec, resultModel: model, finishedAt: performance.now() });
    get().addRun(spec, result, performance.now() - get().startedAt!);
  },
  cancel() {
    cancelRun();
    set((s) => ({ status: 'cancelled', runId: s.runId + 1, finishedAt: performance.now() }));
  },
});
