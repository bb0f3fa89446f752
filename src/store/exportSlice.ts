// Taking a finished run home and bringing one back. Export writes the current result in a format (a GPTQ checkpoint,
// a fake-quantized checkpoint, or the lab's bundle) into a folder the user picks (File System Access API; the worker
// writes each file a tensor at a time), or, where the browser has no folder picker, as one download per file. Import
// reads a bundle folder back: its blocks go into the cache, its result becomes the current run and a Results row.
import type { StateCreator } from 'zustand';
import type { ExportReport, SaveFormat } from '../pipeline/export.ts';
import type { ExportProgress } from '../pipeline/worker.ts';
import type { EvalResult } from '../pipeline/types.ts';
import type { ExperimentSpec, ModelRef } from '../pipeline/experimentSpec.ts';
import { makeRecipe } from '../quant/recipe.ts';
import { parseHubId } from '../model/source.ts';
import { exportResult, importBundleFiles } from './workerClient.ts';
import { BUNDLED, sourceSpec, type ModelChoice } from './modelSlice.ts';
import { pageError } from './pageWords.ts';
import type { LabState } from './labStore.ts';

/**
 * The bundle's two files (bundle.ts's BUNDLE_FILE and BUNDLE_WEIGHTS; named here so the page does not load the reader).
 */
export const BUNDLE_FILES = ['quantlab-bundle.json', 'quantlab-weights.safetensors'] as const;

export interface ExportState {
  status: 'idle' | 'running' | 'done' | 'error';
  format?: SaveFormat;
  /** a picked folder (its name) or one download per file */
  target?: { kind: 'folder'; name: string } | { kind: 'downloads' };
  progress?: ExportProgress;
  report?: ExportReport;
  error?: string;
}

export interface ExportSlice {
  exportFormat: SaveFormat;
  exporting: ExportState;
  bundleImport: { status: 'idle' | 'loading' | 'done' | 'error'; label?: string; error?: string };
  setExportFormat(format: SaveFormat): void;
  /**
   * asks for a folder (or falls back to downloads) and writes the current result in a format (default: the chosen one)
   */
  exportResult(format?: SaveFormat): Promise<void>;
  importBundle(files: File[], label: string): Promise<void>;
}

type DirectoryPicker = (options?: { mode?: 'read' | 'readwrite'; id?: string }) => Promise<FileSystemDirectoryHandle>;

/** window.showDirectoryPicker where the browser has it (Chromium), else undefined (downloads instead). */
export function directoryPicker(): DirectoryPicker | undefined {
  const w = globalThis as unknown as { showDirectoryPicker?: DirectoryPicker };
  return typeof w.showDirectoryPicker === 'function' ? w.showDirectoryPicker.bind(globalThis) : undefined;
}

/** One download per file: an <a download> on the Blob the worker made. */
function downloadBlob(name: string, blob: Blob): void {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}

/**
 * The model a result names (its source id) as the form's choice: a bundled fixture, a Hub repo, a URL, or local files.
 */
export function modelOfResult(id: string): ModelRef {
  if (BUNDLED.some((b) => b.id === id)) return { kind: 'bundled', id };
  if (/^https?:\/\//.test(id)) return { kind: 'url', url: id };
  const hub = /@/.test(id) ? parseHubId(id) : null;
  if (hub) return { kind: 'hub', ...hub };
  return { kind: 'local', label: id };
}

/** The experiment a result ran: its recipe and what it evaluated (a bundle carries no form, only the result). */
export function specOfResult(r: EvalResult, model: ModelRef): ExperimentSpec {
  const tasks = Object.keys(r.tasks ?? {});
  return {
    model,
    recipe: r.config.recipe ?? makeRecipe({ seqlen: r.config.seqlen }),
    eval: {
      datasets: Object.keys(r.ppl),
      seqlen: r.config.seqlen,
      windows: r.config.windows ?? null,
      ...(r.baselines?.length ? { baselines: true } : {}),
      ...(tasks.length ? { tasks, limit: r.config.limit ?? null } : {}),
    },
  };
}

let exportId = 0;

export const createExportSlice: StateCreator<LabState, [], [], ExportSlice> = (set, get) => ({
  exportFormat: 'gptq',
  exporting: { status: 'idle' },
  bundleImport: { status: 'idle' },
  setExportFormat: (exportFormat) => set({ exportFormat }),
  async exportResult(format = get().exportFormat) {
    const s = get();
    const result = s.result;
    if (!result || s.exporting.status === 'running') return;
    if (format !== s.exportFormat) set({ exportFormat: format });
    const model: ModelChoice = s.resultModel ?? s.model;
    if (model.kind === 'files' && model.files.length === 0) {
      set({
        exporting: {
          status: 'error',
          format,
          error:
            `This run's model is local files ("${model.label}"): pick that folder in the Model panel first, ` +
            'the export reads what the run did not change from it.',
        },
      });
      return;
    }
    const id = ++exportId;
    // the picker first, straight from the click (it needs the user's gesture); without one, downloads
    let dir: FileSystemDirectoryHandle | null = null;
    const pick = directoryPicker();
    if (pick) {
      try {
        dir = await pick({ mode: 'readwrite', id: 'quantlab-export' });
      } catch (e) {
        const err = e as Error;
        // dismissing the picker is not an error
        set({
          exporting:
            err.name === 'AbortError'
              ? { status: 'idle' }
              : { status: 'error', format, error: pageError({ kind: err.name, message: err.message }) },
        });
        return;
      }
    }
    set({
      exporting: {
        status: 'running',
        format,
        target: dir ? { kind: 'folder', name: dir.name } : { kind: 'downloads' },
      },
    });
    const out = await exportResult(
      sourceSpec(model),
      result,
      format,
      dir,
      (progress) => {
        if (exportId === id && get().exporting.status === 'running')
          set((st) => ({ exporting: { ...st.exporting, progress } }));
      },
      dir ? undefined : downloadBlob,
    );
    if (exportId !== id) return;
    set((st) => ({
      exporting: out.error
        ? { ...st.exporting, status: 'error', error: pageError(out.error) }
        : { ...st.exporting, status: 'done', report: out.result },
    }));
  },
  async importBundle(files, label) {
    if (get().status === 'running') return;
    if (!files.some((f) => f.name === BUNDLE_FILES[0])) {
      set({
        bundleImport: {
          status: 'error',
          label,
          error:
            `No ${BUNDLE_FILES[0]} among the ${files.length} file${files.length === 1 ? '' : 's'} picked: ` +
            `pick the folder the lab exported as a bundle (${BUNDLE_FILES.join(' and ')}).`,
        },
      });
      return;
    }
    set({ bundleImport: { status: 'loading', label } });
    const out = await importBundleFiles(files, label);
    if (out.error) {
      set({ bundleImport: { status: 'error', label, error: pageError(out.error) } });
      return;
    }
    const result = out.result!;
    const before = get().model;
    const spec = specOfResult(result, modelOfResult(result.model));
    // the form becomes the bundle's experiment and the model its model (the Inspect views read the full-precision
    // weights from it; it is probed like any chosen model); local files the user already picked under the same name
    // stay picked
    get().applySpec(spec);
    // a link that was open is left behind: the form is the bundle's now
    set({ shared: null, linkError: null, formBeforeLink: null });
    if (
      spec.model.kind === 'local' &&
      before.kind === 'files' &&
      before.files.length > 0 &&
      before.label === spec.model.label
    )
      get().setModel(before);
    const model = get().model;
    set((st) => ({
      result,
      resultSpec: spec,
      resultModel: model,
      resultBundle: label,
      runId: st.runId + 1,
      status: 'done',
      error: null,
      plan: [],
      current: null,
      stages: {},
      taskProgress: {},
      startedAt: null,
      finishedAt: null,
      exporting: { status: 'idle' },
      weightView: { status: 'idle' },
      activationMap: { status: 'idle' },
      inspectLayer: 0,
      bundleImport: { status: 'done', label },
    }));
    get().addRun(spec, result, 0, 'bundle');
  },
});
