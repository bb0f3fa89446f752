// Which model to load. Choosing one in the panel (a click) probes it: parameter count, download size and whether this
// device's limits hold its tensors, from config.json and the safetensors headers only. A model restored from a share
// link is not probed until asked: links never start a download.
import type { StateCreator } from 'zustand';
import type { SourceSpec } from '../pipeline/worker.ts';
import type { ModelRef } from '../pipeline/experimentSpec.ts';
import type { ModelProbe } from '../pipeline/probe.ts';
import { probeModel } from './workerClient.ts';
import { hasSharePayload } from '../pipeline/shareLink.ts';
import type { LabState } from './labStore.ts';

export const BUNDLED = [
  { id: 'stories260K', label: 'stories260K (bundled, LLaMA, 260K)' },
  { id: 'opt-tiny', label: 'opt-tiny (bundled, OPT, 0.9M)' },
  { id: 'opt-tiny-bpe', label: 'opt-tiny-bpe (bundled, OPT tokenizer, 7.3M)' },
];
export const HUB_PRESETS = ['facebook/opt-125m', 'facebook/opt-1.3b', 'TinyLlama/TinyLlama-1.1B-Chat-v1.0', 'HuggingFaceTB/SmolLM2-135M', 'Qwen/Qwen2.5-0.5B'];

export type ModelChoice = Exclude<ModelRef, { kind: 'local' }> | { kind: 'files'; files: File[]; label: string };

export interface ModelSlice {
  model: ModelChoice;
  /** the dev server serves ../shared (bundled fixtures) */
  sharedServed: boolean | null;
  probe: { status: 'idle' | 'loading' | 'done' | 'error'; info?: ModelProbe; error?: string; of?: string };
  /** probe: false when the choice did not come from a click (a share link, a reload) */
  setModel(m: ModelChoice, opts?: { probe?: boolean }): void;
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
  setModel(model, opts = {}) {
    set({ model, probe: { status: 'idle' } });
    if (opts.probe !== false) void get().probeModel();
  },
  async probeShared() {
    const ok = await fetch('/shared/models/stories260K/config.json', { method: 'HEAD' }).then((r) => r.ok, () => false);
    set((s) => ({ sharedServed: ok, model: !ok && s.model.kind === 'bundled' ? { kind: 'hub', repo: HUB_PRESETS[0], revision: 'main' } : s.model }));
    // a bundled model is on this server: probing it costs a few KiB and lets the form check options against its
    // widths before Run (remote models are probed on a click only; a share link never starts a fetch)
    const s = get();
    if (ok && s.model.kind === 'bundled' && !s.shared && !hasSharePayload(location.href) && s.probe.status === 'idle') void s.probeModel();
  },
  async probeModel() {
    const m = get().model;
    const of = describeChoice(m);
    set({ probe: { status: 'loading', of } });
    const out = await probeModel(sourceSpec(m));
    if (describeChoice(get().model) !== of) return; // another model was chosen meanwhile
    set({ probe: out.error ? { status: 'error', error: `${out.error.kind}: ${out.error.message}`, of } : { status: 'done', info: out.result, of } });
  },
});
