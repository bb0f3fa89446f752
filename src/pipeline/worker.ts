// The lab's Web Worker: the only file that speaks comlink. Heavy work (model load, GPU forward, perplexity) runs
// here; only serializable summaries and progress cross back to the page.
import '../gpu/browser.ts';
import * as Comlink from 'comlink';
import { filesSource, hubSource, urlSource, type ModelSource } from '../model/source.ts';
import { runExperiment } from './experiment.ts';
import { LabError } from '../errors.ts';
import type { EvalRequest, EvalResult, Progress } from './types.ts';

export type SourceSpec =
  | { kind: 'url'; url: string; label?: string }
  | { kind: 'hub'; repo: string; revision: string; hubUrl?: string }
  | { kind: 'files'; files: File[]; label: string };

export interface RunOutcome {
  result?: EvalResult;
  /** the error's class name and message: the page shows a specific message, never a stack */
  error?: { kind: string; message: string };
}

function toSource(spec: SourceSpec): ModelSource {
  if (spec.kind === 'url') return urlSource(new URL(spec.url, self.location.href).href);
  if (spec.kind === 'hub') return hubSource(spec.repo, spec.revision, spec.hubUrl);
  return filesSource(spec.files, spec.label);
}

let controller: AbortController | null = null;

const api = {
  async evaluate(spec: SourceSpec, req: EvalRequest, dataBase: string, onProgress: (p: Progress) => void): Promise<RunOutcome> {
    controller = new AbortController();
    const base = new URL(dataBase.endsWith('/') ? dataBase : `${dataBase}/`, self.location.href);
    try {
      const result = await runExperiment(req, {
        source: toSource(spec),
        signal: controller.signal,
        onProgress,
        readText: async (rel) => {
          const res = await fetch(new URL(rel, base));
          if (!res.ok) throw new LabError(`dataset file ${rel} at ${base.href}: HTTP ${res.status}`);
          return res.text();
        },
      });
      return { result };
    } catch (e) {
      const err = e as Error;
      return { error: { kind: err.name || 'Error', message: err.message || String(e) } };
    }
  },
  cancel(): void {
    controller?.abort();
  },
};

export type WorkerApi = typeof api;
Comlink.expose(api);
