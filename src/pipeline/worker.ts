// The lab's Web Worker: the only file that speaks comlink. Heavy work (model load, GPU forward, quantization,
// inspection) runs here against the IndexedDB cache; only serializable summaries and progress cross back to the page.
import '../gpu/browser.ts';
import * as Comlink from 'comlink';
import { filesSource, hubSource, urlSource, type ModelSource } from '../model/source.ts';
import { adapterLimits } from '../gpu/device.ts';
import type { LinearRole } from '../model/families.ts';
import type { ActSite } from '../model/weights.ts';
import type { QuantRecipe } from '../quant/recipe.ts';
import { runExperiment } from './experiment.ts';
import { memoryCache, type LabCache } from './cache.ts';
import { idbCache } from './idbCache.ts';
import { activationMap, weightView, type ActivationMap, type WeightView } from './inspect.ts';
import { probeModel, type ModelProbe } from './probe.ts';
import { httpReader } from '../eval/dataFiles.ts';
import { directorySink, downloadSink } from '../model/sink.browser.ts';
import { exportRun, type ExportReport, type SaveFormat } from './export.ts';
import { importBundle } from './bundle.ts';
import type { EvalRequest, EvalResult, Progress } from './types.ts';

export type SourceSpec =
  | { kind: 'url'; url: string; label?: string }
  | { kind: 'hub'; repo: string; revision: string; hubUrl?: string }
  | { kind: 'files'; files: File[]; label: string };

/** A call's outcome: the value, or the error's class name and message (the page shows a message, never a stack). */
export interface Outcome<T> {
  result?: T;
  error?: { kind: string; message: string };
}
export type RunOutcome = Outcome<EvalResult>;
/** an export's progress: tensors written so far of the file's total */
export type ExportProgress = { file: string; done: number; total: number };

function toSource(spec: SourceSpec): ModelSource {
  if (spec.kind === 'url')
    return { ...urlSource(new URL(spec.url, self.location.href).href), id: spec.label ?? spec.url };
  if (spec.kind === 'hub') return hubSource(spec.repo, spec.revision, spec.hubUrl);
  return filesSource(spec.files, spec.label);
}

/** The data folder URL as typed in the form, relative to the page. */
function textReader(dataBase: string) {
  return httpReader(new URL(dataBase.endsWith('/') ? dataBase : `${dataBase}/`, self.location.href).href);
}

let cache: LabCache | null = null;
function labCache(): LabCache {
  cache ??= typeof indexedDB !== 'undefined' ? idbCache() : memoryCache();
  return cache;
}

async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { result: await work() };
  } catch (e) {
    const err = e as Error;
    return { error: { kind: err.name || 'Error', message: err.message || String(e) } };
  }
}

const api = {
  evaluate(
    spec: SourceSpec,
    req: EvalRequest,
    dataBase: string,
    onProgress: (p: Progress) => void,
  ): Promise<RunOutcome> {
    return outcome(() =>
      runExperiment(req, { source: toSource(spec), onProgress, readText: textReader(dataBase), cache: labCache() }),
    );
  },
  probe(spec: SourceSpec): Promise<Outcome<ModelProbe>> {
    return outcome(async () => probeModel(toSource(spec), await adapterLimits()));
  },
  activations(
    spec: SourceSpec,
    recipe: QuantRecipe,
    layer: number,
    site: ActSite,
    dataBase: string,
    perm?: number[],
  ): Promise<Outcome<ActivationMap>> {
    return outcome(() => activationMap(toSource(spec), textReader(dataBase), recipe, layer, site, { perm }));
  },
  weights(
    spec: SourceSpec,
    blockKey: string | undefined,
    layer: number,
    role: LinearRole,
  ): Promise<Outcome<WeightView>> {
    return outcome(() => weightView(toSource(spec), labCache(), blockKey, layer, role));
  },
  /**
   * Writes a finished run (its result and the blocks it left in the cache) in a format: into the folder the page
   * picked (a directory handle posted here), or with dir null, each file as a Blob handed to onFile (the page
   * downloads it). Files stream a tensor at a time.
   */
  exportRun(
    spec: SourceSpec,
    result: EvalResult,
    format: SaveFormat,
    dir: FileSystemDirectoryHandle | null,
    onProgress: (p: ExportProgress) => void,
    onFile?: (name: string, blob: Blob) => void | Promise<void>,
  ): Promise<Outcome<ExportReport>> {
    return outcome(async () => {
      if (!dir && !onFile) throw new Error('export: neither a folder nor a download callback was given');
      const sink = dir ? directorySink(dir) : downloadSink(async (name, blob) => onFile!(name, blob));
      return exportRun(format, result, { source: toSource(spec), cache: labCache(), sink, onProgress });
    });
  },
  /** A bundle folder (quantlab-bundle.json + quantlab-weights.safetensors) back into the cache; its run's result. */
  importBundle(files: File[], label: string): Promise<Outcome<EvalResult>> {
    return outcome(() => importBundle(filesSource(files, label), labCache()));
  },
};

export type WorkerApi = typeof api;
Comlink.expose(api);
