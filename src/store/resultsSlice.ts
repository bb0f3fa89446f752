// Every finished run, kept across reloads (summaries only: figures and the experiment, never tensors), with two
// picked for side-by-side comparison and CSV/JSON export that carry every option of the experiment.
import type { StateCreator } from 'zustand';
import type { EvalResult, GenerationReport, TaskScore } from '../pipeline/types.ts';
import {
  describeModel,
  type ExperimentSpec,
  type ResultSummary,
  type TaskFigures,
} from '../pipeline/experimentSpec.ts';
import { chainOf, recipeLabel, type QuantRecipe } from '../quant/recipe.ts';
import { canonicalJson } from '../pipeline/cache.ts';
import { meanBits, overheadWord } from '../pipeline/bits.ts';
import { METHOD_LIST } from '../quant/index.ts';
import { optionInfos } from '../quant/options.ts';
import { fmtBytes } from '../gpu/gpu.ts';
import type { LabState } from './labStore.ts';

export interface RunRecord {
  id: string;
  /** ms since the epoch */
  at: number;
  spec: ExperimentSpec;
  summary: ResultSummary;
  /** wall time of the run in the page */
  wallMs: number;
  cached: boolean;
  shared?: boolean;
  /** restored from an exported bundle (its figures as the bundle recorded them) */
  imported?: boolean;
  /** the last text generated after this run: the prompt, the settings and each model's continuation */
  generation?: GenerationSummary;
}

/** What the results table keeps of a generation: the texts, not the per-token figures. */
export interface GenerationSummary {
  prompt: string;
  settings: Omit<GenerationReport, 'prompt' | 'promptTokens' | 'fp' | 'quant' | 'divergeAt'>;
  fp?: string;
  quant?: string;
  divergeAt?: number;
}

export function generationSummary(g: GenerationReport): GenerationSummary {
  const { prompt, fp, quant, divergeAt, promptTokens: _, ...settings } = g;
  return {
    prompt,
    settings,
    ...(fp ? { fp: fp.text } : {}),
    ...(quant ? { quant: quant.text } : {}),
    ...(divergeAt !== undefined ? { divergeAt } : {}),
  };
}

export interface ResultsSlice {
  runs: RunRecord[];
  /** ids of the (at most two) runs compared side by side */
  compare: string[];
  /** origin 'bundle': a result imported from a bundle (no row when the same experiment already has one) */
  addRun(spec: ExperimentSpec, result: EvalResult, wallMs: number, origin?: 'bundle'): void;
  addShared(spec: ExperimentSpec, summary: ResultSummary): void;
  /** a generation after a run joins the newest row of the same experiment */
  recordGeneration(spec: ExperimentSpec, g: GenerationReport): void;
  toggleCompare(id: string): void;
  removeRun(id: string): void;
  clearRuns(): void;
}

/** The figures a task keeps in the results table and a link (no stderr or time: they follow from n and the run). */
function taskFigures(scores: Record<string, TaskScore>): Record<string, TaskFigures> {
  return Object.fromEntries(
    Object.entries(scores).map(([t, s]) => [
      t,
      {
        items: s.items,
        acc: s.acc,
        ...(s.accNorm !== undefined ? { accNorm: s.accNorm } : {}),
        ...(s.perplexity !== undefined ? { perplexity: s.perplexity } : {}),
      },
    ]),
  );
}

export function summarize(spec: ExperimentSpec, r: EvalResult): ResultSummary {
  const layers = r.quant?.layers ?? [];
  return {
    label: recipeLabel(spec.recipe),
    ppl: r.ppl,
    ...(r.pplBefore ? { pplBefore: r.pplBefore } : {}),
    ...(r.tasks ? { tasks: taskFigures(r.tasks) } : {}),
    ...(r.tasksBefore ? { tasksBefore: taskFigures(r.tasksBefore) } : {}),
    ...(layers.length
      ? {
          bitsPerWeight: meanBits(layers),
          codeBits: meanBits(layers, (l) => l.codeBits ?? l.bits),
          bitsOverhead: overheadWord(layers),
        }
      : {}),
    ...(r.storage
      ? {
          checkpointBits: r.storage.checkpointBits,
          checkpointBytes: r.storage.checkpointBytes,
          ...(r.storage.quantizedBytes && layers.length ? { storedBytes: r.storage.quantizedBytes } : {}),
        }
      : {}),
    ...(r.quant ? { quantizeMs: r.quant.totalMs } : {}),
    ...(r.device ? { device: r.device.description } : {}),
    ...(r.caveats?.length ? { warnings: r.caveats } : {}),
  };
}

/**
 * Bits per weight with its split: "18.56 = 4 codes + 14.56 scales/zeros" (CLAQ: codebooks and reserved values); a
 * full-precision run's are the checkpoint's own (32 for F32, 16 for F16/BF16).
 */
export function bitsSplit(
  s: Pick<ResultSummary, 'bitsPerWeight' | 'codeBits' | 'bitsOverhead' | 'checkpointBits'>,
): string {
  if (s.bitsPerWeight === undefined)
    return s.checkpointBits !== undefined ? `${Number(s.checkpointBits.toFixed(2))} (as stored)` : '16';
  if (s.codeBits === undefined || Math.abs(s.bitsPerWeight - s.codeBits) < 0.005) return s.bitsPerWeight.toFixed(2);
  return (
    `${s.bitsPerWeight.toFixed(2)} = ${s.codeBits.toFixed(s.codeBits % 1 ? 2 : 0)} codes ` +
    `+ ${(s.bitsPerWeight - s.codeBits).toFixed(2)} ${s.bitsOverhead ?? 'scales/zeros'}`
  );
}

/** "stored 0.55 MB, 0.52× the checkpoint's 1.05 MB": what the bits per weight come to in bytes (null: not known). */
export function sizeLine(s: Pick<ResultSummary, 'checkpointBytes' | 'storedBytes'>): string | null {
  if (!s.checkpointBytes || !s.storedBytes) return null;
  return (
    `stored ${fmtBytes(s.storedBytes)}, ${(s.storedBytes / s.checkpointBytes).toFixed(2)}× the ` +
    `checkpoint's ${fmtBytes(s.checkpointBytes)} (the quantized layers at their bits per weight, ` +
    'every other tensor as stored)'
  );
}

/**
 * Every setting as a flat column: the calibration, the chain, and every option of every registered method as
 * "method.flag" (empty for methods the run did not use), so runs of different recipes share one header.
 */
export function recipeColumns(r: QuantRecipe): Record<string, string> {
  const cols: Record<string, string> = {
    steps: chainOf(r),
    calib: r.calib,
    nsamples: String(r.nsamples),
    calib_seqlen: String(r.seqlen),
    seed: String(r.seed),
    hidden_layer_num: r.hiddenLayerNum !== undefined ? String(r.hiddenLayerNum) : '',
  };
  for (const m of METHOD_LIST) {
    const step = r.steps.find((s) => s.method === m.name) as Record<string, unknown> | undefined;
    for (const o of optionInfos(m.options)) {
      const v = step?.[o.key];
      cols[`${m.name}.${o.flag}`] = step ? (v === undefined ? (o.fallback ?? '') : String(v)) : '';
    }
  }
  return cols;
}

/** One row per run and dataset, for spreadsheets, with every option of the experiment. */
export function runsToCsv(runs: RunRecord[]): string {
  const esc = (v: unknown) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v ?? ''));
  const optionNames = Object.keys(recipeColumns({ calib: '', nsamples: 0, seqlen: 0, seed: 0, steps: [] }));
  const taskColumns = ['task_items', 'acc', 'fp_acc', 'acc_norm', 'fp_acc_norm'];
  const rows = [
    [
      'time',
      'model',
      'label',
      'dataset',
      'ppl',
      'fp_ppl',
      'delta',
      'bits_per_weight',
      'code_bits',
      'quantize_s',
      'wall_s',
      'eval_seqlen',
      'eval_windows',
      ...optionNames,
      'warnings',
      ...taskColumns,
    ],
  ];
  const num = (v: number | undefined) => (v !== undefined ? String(v) : '');
  for (const r of runs) {
    const options = recipeColumns(r.spec.recipe);
    // one row per perplexity dataset, then one per zero-shot task (its name in the dataset column; lambada's
    // perplexity in the ppl columns)
    const row = (name: string, v: number | undefined, fp: number | undefined, task: string[]) => [
      new Date(r.at).toISOString(),
      describeModel(r.spec.model),
      r.summary.label,
      name,
      num(v),
      num(fp),
      v !== undefined && fp !== undefined ? String(v - fp) : '',
      r.summary.bitsPerWeight?.toFixed(3) ?? '',
      r.summary.codeBits?.toFixed(3) ?? '',
      r.summary.quantizeMs !== undefined ? (r.summary.quantizeMs / 1000).toFixed(2) : '',
      (r.wallMs / 1000).toFixed(2),
      String(r.spec.eval.seqlen),
      String(r.spec.eval.windows ?? 'all'),
      ...optionNames.map((k) => options[k]),
      (r.summary.warnings ?? []).join(' | '),
      ...task,
    ];
    for (const [ds, v] of Object.entries(r.summary.ppl))
      rows.push(
        row(
          ds,
          v,
          r.summary.pplBefore?.[ds as keyof typeof r.summary.ppl],
          taskColumns.map(() => ''),
        ),
      );
    for (const [task, t] of Object.entries(r.summary.tasks ?? {})) {
      const fp = r.summary.tasksBefore?.[task as keyof typeof r.summary.tasks];
      rows.push(
        row(task, t!.perplexity, fp?.perplexity, [
          String(t!.items),
          num(t!.acc),
          num(fp?.acc),
          num(t!.accNorm),
          num(fp?.accNorm),
        ]),
      );
    }
  }
  return rows.map((row) => row.map(esc).join(',')).join('\n') + '\n';
}

/** The runs as JSON: each with its experiment, its figures and the same flat option columns as the CSV. */
export function runsToJson(runs: RunRecord[]): string {
  return JSON.stringify(
    runs.map((r) => ({ ...r, options: recipeColumns(r.spec.recipe) })),
    null,
    2,
  );
}

export const createResultsSlice: StateCreator<LabState, [], [], ResultsSlice> = (set) => ({
  recordGeneration: (spec, g) =>
    set((s) => {
      const key = canonicalJson(spec);
      const i = s.runs.findIndex((r) => !r.shared && canonicalJson(r.spec) === key);
      if (i < 0) return {};
      const runs = [...s.runs];
      runs[i] = { ...runs[i], generation: generationSummary(g) };
      return { runs };
    }),
  runs: [],
  compare: [],
  addRun: (spec, result, wallMs, origin) =>
    set((s) => {
      // an identical experiment answered from the cache (or imported again) is the row that is already there
      if (
        (result.cached || origin === 'bundle') &&
        s.runs.some((r) => !r.shared && canonicalJson(r.spec) === canonicalJson(spec))
      )
        return {};
      const imported = origin === 'bundle';
      return {
        runs: [
          {
            id: `${Date.now()}-${s.runs.length}`,
            at: Date.now(),
            spec,
            summary: summarize(spec, result),
            wallMs,
            cached: !imported && !!result.cached,
            ...(imported ? { imported } : {}),
          },
          ...s.runs,
        ].slice(0, 200),
      };
    }),
  addShared: (spec, summary) =>
    set((s) => ({
      runs: [
        { id: `shared-${Date.now()}`, at: Date.now(), spec, summary, wallMs: 0, cached: false, shared: true },
        ...s.runs,
      ],
    })),
  toggleCompare: (id) =>
    set((s) => ({
      compare: s.compare.includes(id) ? s.compare.filter((x) => x !== id) : [...s.compare, id].slice(-2),
    })),
  removeRun: (id) =>
    set((s) => ({ runs: s.runs.filter((r) => r.id !== id), compare: s.compare.filter((x) => x !== id) })),
  clearRuns: () => set({ runs: [], compare: [] }),
});
