// The page's handle on the worker. Cancel terminates the worker outright (and the next call starts a fresh one), so
// a run stops at once even in the middle of a GPU window; the cache in IndexedDB keeps every finished block.
import * as Comlink from 'comlink';
import type { ExportProgress, Outcome, RunOutcome, SourceSpec, WorkerApi } from '../pipeline/worker.ts';
import type { EvalRequest, EvalResult, Progress } from '../pipeline/types.ts';
import type { ExportReport, SaveFormat } from '../pipeline/export.ts';
import type { QuantRecipe } from '../quant/recipe.ts';
import type { ActSite } from '../model/weights.ts';
import type { LinearRole } from '../model/families.ts';
import type { ModelProbe } from '../pipeline/probe.ts';
import type { ActivationMap, WeightView } from '../pipeline/inspect.ts';

let worker: Worker | null = null;
let remote: Comlink.Remote<WorkerApi> | null = null;

function ensure(): Comlink.Remote<WorkerApi> {
  if (!remote) {
    worker = new Worker(new URL('../pipeline/worker.ts', import.meta.url), { type: 'module' });
    remote = Comlink.wrap<WorkerApi>(worker);
  }
  return remote;
}

export function runEvaluation(
  spec: SourceSpec,
  req: EvalRequest,
  dataBase: string,
  onProgress: (p: Progress) => void,
): Promise<RunOutcome> {
  return ensure().evaluate(spec, req, dataBase, Comlink.proxy(onProgress));
}

export function probeModel(spec: SourceSpec): Promise<Outcome<ModelProbe>> {
  return ensure().probe(spec);
}

export function inspectActivations(
  spec: SourceSpec,
  recipe: QuantRecipe,
  layer: number,
  site: ActSite,
  dataBase: string,
  perm?: number[],
): Promise<Outcome<ActivationMap>> {
  return ensure().activations(spec, recipe, layer, site, dataBase, perm);
}

export function inspectWeights(
  spec: SourceSpec,
  blockKey: string | undefined,
  layer: number,
  role: LinearRole,
): Promise<Outcome<WeightView>> {
  return ensure().weights(spec, blockKey, layer, role);
}

/** dir: a folder the user picked (the worker writes into it); null: each file comes back as a Blob to onFile. */
export function exportResult(
  spec: SourceSpec,
  result: EvalResult,
  format: SaveFormat,
  dir: FileSystemDirectoryHandle | null,
  onProgress: (p: ExportProgress) => void,
  onFile?: (name: string, blob: Blob) => void,
): Promise<Outcome<ExportReport>> {
  return ensure().exportRun(
    spec,
    result,
    format,
    dir,
    Comlink.proxy(onProgress),
    onFile ? Comlink.proxy(onFile) : undefined,
  );
}

export function importBundleFiles(files: File[], label: string): Promise<Outcome<EvalResult>> {
  return ensure().importBundle(files, label);
}

export function cancelRun(): void {
  worker?.terminate();
  worker = null;
  remote = null;
}
