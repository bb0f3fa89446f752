// The page's handle on the worker. Cancel terminates the worker outright (and starts a fresh one), so a run stops at
// once even in the middle of a GPU window; nothing cached is lost.
import * as Comlink from 'comlink';
import type { RunOutcome, SourceSpec, WorkerApi } from '../pipeline/worker.ts';
import type { EvalRequest, Progress } from '../pipeline/types.ts';

let worker: Worker | null = null;
let remote: Comlink.Remote<WorkerApi> | null = null;

function ensure(): Comlink.Remote<WorkerApi> {
  if (!remote) {
    worker = new Worker(new URL('../pipeline/worker.ts', import.meta.url), { type: 'module' });
    remote = Comlink.wrap<WorkerApi>(worker);
  }
  return remote;
}

export function runEvaluation(spec: SourceSpec, req: EvalRequest, dataBase: string, onProgress: (p: Progress) => void): Promise<RunOutcome> {
  return ensure().evaluate(spec, req, dataBase, Comlink.proxy(onProgress));
}

export function cancelRun(): void {
  worker?.terminate();
  worker = null;
  remote = null;
}
