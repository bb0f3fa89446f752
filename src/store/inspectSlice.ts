// What the Inspect views look at: a block and a site of the current result, the channel order, and the two views
// that ask the worker for more than the report holds (activation heatmap, weight histogram and grid).
import type { StateCreator } from 'zustand';
import type { ActSite } from '../model/taps.ts';
import { transformReport, type QuantSummary } from '../pipeline/types.ts';
import type { SiteReport } from '../quant/siteReport.ts';
import type { LinearRole } from '../model/architecture.ts';
import type { ActivationMap, WeightView } from '../pipeline/inspect.ts';
import { inspectActivations, inspectWeights } from './workerClient.ts';
import { sourceSpec } from './modelSlice.ts';
import type { LabState } from './labStore.ts';

type Loaded<T> = { status: 'idle' | 'loading' | 'done' | 'error'; data?: T; error?: string };

export interface InspectSlice {
  inspectLayer: number;
  inspectSite: ActSite;
  /** channel order of the range chart */
  channelOrder: 'original' | 'reordered';
  inspectRole: LinearRole;
  activationMap: Loaded<ActivationMap>;
  weightView: Loaded<WeightView>;
  setInspect(p: Partial<Pick<InspectSlice, 'inspectLayer' | 'inspectSite' | 'channelOrder' | 'inspectRole'>>): void;
  loadActivationMap(): Promise<void>;
  loadWeightView(): Promise<void>;
}

/** The site reports a run has: its transform's (RPTQ: clusters, reorder, errors), or the plain channel ranges. */
export function inspectSites(q: QuantSummary | undefined): SiteReport[] {
  const blocks = transformReport<SiteReport>(q)?.blocks;
  // a transform with its own report shape (DuQuant) has no channel-range sites
  if (blocks && blocks.every((b) => Array.isArray(b.ranges))) return blocks;
  return blocks ? [] : (q?.ranges ?? []);
}

export const createInspectSlice: StateCreator<LabState, [], [], InspectSlice> = (set, get) => ({
  inspectLayer: 0,
  inspectSite: 'attn_norm',
  channelOrder: 'original',
  inspectRole: 'q',
  activationMap: { status: 'idle' },
  weightView: { status: 'idle' },
  setInspect: (p) => set(p),
  async loadActivationMap() {
    const s = get();
    set({ activationMap: { status: 'loading' } });
    const report = inspectSites(s.result?.quant).find((r) => r.layer === s.inspectLayer && r.site === s.inspectSite);
    const perm = s.channelOrder === 'reordered' && report?.perm ? report.perm : undefined;
    const out = await inspectActivations(sourceSpec(s.model), s.spec().recipe, s.inspectLayer, s.inspectSite, s.dataBase, perm);
    set({ activationMap: out.error ? { status: 'error', error: `${out.error.kind}: ${out.error.message}` } : { status: 'done', data: out.result } });
  },
  async loadWeightView() {
    const s = get();
    set({ weightView: { status: 'loading' } });
    const out = await inspectWeights(sourceSpec(s.model), s.result?.quant?.blockKey, s.inspectLayer, s.inspectRole);
    set({ weightView: out.error ? { status: 'error', error: `${out.error.kind}: ${out.error.message}` } : { status: 'done', data: out.result } });
  },
});
