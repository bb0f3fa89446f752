// Every finished run, kept across reloads (summaries only: figures and the experiment, never tensors), with two
// picked for side-by-side comparison and CSV/JSON export.
import type { StateCreator } from 'zustand';
import type { EvalResult } from '../pipeline/types.ts';
import { describeModel, type ExperimentSpec, type ResultSummary } from '../pipeline/experimentSpec.ts';
import { recipeLabel } from '../quant/recipe.ts';
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
}

export interface ResultsSlice {
  runs: RunRecord[];
  /** ids of the (at most two) runs compared side by side */
  compare: string[];
  addRun(spec: ExperimentSpec, result: EvalResult, wallMs: number): void;
  addShared(spec: ExperimentSpec, summary: ResultSummary): void;
  toggleCompare(id: string): void;
  removeRun(id: string): void;
  clearRuns(): void;
}

export function summarize(spec: ExperimentSpec, r: EvalResult): ResultSummary {
  const layers = r.quant?.layers ?? [];
  return {
    label: recipeLabel(spec.recipe),
    ppl: r.ppl,
    ...(r.pplBefore ? { pplBefore: r.pplBefore } : {}),
    ...(layers.length ? { bitsPerWeight: layers.reduce((s, l) => s + l.bits, 0) / layers.length } : {}),
    ...(r.quant ? { quantizeMs: r.quant.totalMs } : {}),
    ...(r.device ? { device: r.device.description } : {}),
  };
}

/** One row per run and dataset, for spreadsheets. */
export function runsToCsv(runs: RunRecord[]): string {
  const esc = (v: unknown) => (/[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v ?? ''));
  const rows = [['time', 'model', 'method', 'dataset', 'ppl', 'fp_ppl', 'delta', 'bits_per_weight', 'quantize_s', 'wall_s', 'seqlen', 'windows', 'calib', 'nsamples', 'seed']];
  for (const r of runs) {
    for (const [ds, v] of Object.entries(r.summary.ppl)) {
      const fp = r.summary.pplBefore?.[ds];
      rows.push([
        new Date(r.at).toISOString(),
        describeModel(r.spec.model),
        r.summary.label,
        ds,
        String(v),
        fp !== undefined ? String(fp) : '',
        fp !== undefined ? String(v - fp) : '',
        r.summary.bitsPerWeight?.toFixed(3) ?? '',
        r.summary.quantizeMs !== undefined ? (r.summary.quantizeMs / 1000).toFixed(2) : '',
        (r.wallMs / 1000).toFixed(2),
        String(r.spec.eval.seqlen),
        String(r.spec.eval.windows ?? 'all'),
        r.spec.recipe.calib,
        String(r.spec.recipe.nsamples),
        String(r.spec.recipe.seed),
      ]);
    }
  }
  return rows.map((row) => row.map(esc).join(',')).join('\n') + '\n';
}

export const createResultsSlice: StateCreator<LabState, [], [], ResultsSlice> = (set) => ({
  runs: [],
  compare: [],
  addRun: (spec, result, wallMs) =>
    set((s) => ({ runs: [{ id: `${Date.now()}-${s.runs.length}`, at: Date.now(), spec, summary: summarize(spec, result), wallMs, cached: !!result.cached }, ...s.runs].slice(0, 200) })),
  addShared: (spec, summary) =>
    set((s) => ({ runs: [{ id: `shared-${Date.now()}`, at: Date.now(), spec, summary, wallMs: 0, cached: false, shared: true }, ...s.runs] })),
  toggleCompare: (id) => set((s) => ({ compare: s.compare.includes(id) ? s.compare.filter((x) => x !== id) : [...s.compare, id].slice(-2) })),
  removeRun: (id) => set((s) => ({ runs: s.runs.filter((r) => r.id !== id), compare: s.compare.filter((x) => x !== id) })),
  clearRuns: () => set({ runs: [], compare: [] }),
});
