// Which model to load. Every model the page shows is probed, as a normal load does: parameter count, download size
// and whether this device's limits hold its tensors, from config.json and the safetensors headers only (a few KiB),
// so the form, the presets and the export formats are checked against its widths before anything runs. The one
// exception is a model URL a share link names: a link cannot choose what the page reads, so that URL is shown and
// read only once the user allows it. Local files from a link are probed once the user picks them.
import type { StateCreator } from 'zustand';
import type { SourceSpec } from '../pipeline/worker.ts';
import type { ModelRef } from '../pipeline/experimentSpec.ts';
import type { ModelProbe } from '../pipeline/probe.ts';
import { probeModel } from './workerClient.ts';
import { pageError } from './pageWords.ts';
import type { LabState } from './labStore.ts';

export const BUNDLED = [
  { id: 'stories260K', label: 'stories260K (bundled, LLaMA, 260K)' },
  { id: 'opt-tiny', label: 'opt-tiny (bundled, OPT, 0.9M)' },
  { id: 'opt-tiny-bpe', label: 'opt-tiny-bpe (bundled, OPT tokenizer, 7.3M)' },
];
export const HUB_PRESETS = [
  'facebook/opt-125m',
  'facebook/opt-1.3b',
  'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
  'HuggingFaceTB/SmolLM2-135M',
  'Qwen/Qwen2.5-0.5B',
];

export type ModelChoice = Exclude<ModelRef, { kind: 'local' }> | { kind: 'files'; files: File[]; label: string };

export interface ModelSlice {
  model: ModelChoice;
  /** the dev server serves ../shared (bundled fixtures) */
  sharedServed: boolean | null;
  probe: { status: 'idle' | 'loading' | 'done' | 'error'; info?: ModelProbe; error?: string; of?: string };
  /** the selected model is a URL a share link named: nothing is read from it until the user allows it */
  modelNeedsConsent: boolean;
  /** probe: false to leave it unprobed; fromLink: a URL is then read only once allowed */
  setModel(m: ModelChoice, opts?: { probe?: boolean; fromLink?: boolean }): void;
  /** whether the dev server serves ../shared; then probes the selected model unless a link's URL awaits consent */
  probeShared(): Promise<void>;
  probeModel(): Promise<void>;
}

export function sourceSpec(m: ModelChoice): SourceSpec {
  switch (m.kind) {
    case 'bundled':
      return { kind: 'url', url: `/shared/models/${m.id}/`, label: m.id };
    case 'hub':
      return { kind: 'hub', repo: m.repo, revision: m.revision };
    case 'url':
      return { kind: 'url', url: m.url };
    case 'files':
      return { kind: 'files', files: m.files, label: m.label };
  }
}

export function modelRef(m: ModelChoice): ModelRef {
  return m.kind === 'files' ? { kind: 'local', label: m.label } : m;
}

export function describeChoice(m: ModelChoice): string {
  if (m.kind === 'bundled') return `bundled ${m.id}`;
  if (m.kind === 'hub') return `${m.repo}@${m.revision}`;
  if (m.kind === 'url') return m.url;
  if (m.files.length === 0) return `local files "${m.label}" (not loaded here: pick the folder)`;
  return `${m.label} (${m.files.length} files)`;
}

export const createModelSlice: StateCreator<LabState, [], [], ModelSlice> = (set, get) => ({
  model: { kind: 'bundled', id: 'stories260K' },
  sharedServed: null,
  probe: { status: 'idle' },
  modelNeedsConsent: false,
  setModel(model, opts = {}) {
    const consent = !!opts.fromLink && model.kind === 'url';
    // a newly chosen model is what the panel talks about now, not an earlier bundle import
    set({
      model,
      probe: { status: 'idle' },
      modelNeedsConsent: consent,
      ...(get().bundleImport.status === 'loading' ? {} : { bundleImport: { status: 'idle' } }),
    });
    if (opts.probe !== false && !consent && !(model.kind === 'files' && model.files.length === 0))
      void get().probeModel();
  },
  async probeShared() {
    const ok = await fetch('/shared/models/stories260K/config.json', { method: 'HEAD' }).then(
      (r) => r.ok,
      () => false,
    );
    const before = get().model;
    const fallback = !ok && before.kind === 'bundled';
    set({
      sharedServed: ok,
      ...(fallback
        ? { model: { kind: 'hub', repo: HUB_PRESETS[0], revision: 'main' }, probe: { status: 'idle' } }
        : {}),
    });
    // the selected model (the bundled default, a reload's, a link's) is probed as any load is, unless it waits for
    // the user's consent or for the folder of a local-files link
    const s = get();
    if (s.probe.status === 'idle' && !s.modelNeedsConsent && !(s.model.kind === 'files' && s.model.files.length === 0))
      void s.probeModel();
  },
  async probeModel() {
    const m = get().model;
    const of = describeChoice(m);
    set({ probe: { status: 'loading', of }, modelNeedsConsent: false });
    const out = await probeModel(sourceSpec(m));
    if (describeChoice(get().model) !== of) return; // another model was chosen meanwhile
    set({
      probe: out.error
        ? { status: 'error', error: pageError(out.error), of }
        : { status: 'done', info: out.result, of },
    });
  },
});
