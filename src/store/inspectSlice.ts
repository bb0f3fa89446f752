// What the Inspect views look at: a block and a site of the current result, the channel order, and the two views
// that ask the worker for more than the report holds (activation heatmap, weight histogram and grid). Each loaded
// view is tagged with the run it was computed for and what it shows (block, site or layer): a view of another run,
// block or layer is never shown under this one. Once the quantized weights are shown, a new run, block or layer loads
// them again by itself.
import type { StateCreator } from 'zustand';
import type { ActSite } from '../model/taps.ts';
import { transformReport, type QuantSummary } from '../pipeline/types.ts';
import type { SiteReport } from '../quant/siteReport.ts';
import type { LinearRole } from '../model/families.ts';
import type { ActivationMap, WeightView } from '../pipeline/inspect.ts';
import { inspectActivations, inspectWeights } from './workerClient.ts';
import { sourceSpec } from './modelSlice.ts';
import { pageError } from './pageWords.ts';
import type { LabState } from './labStore.ts';

/** A view loaded for one run and one selection (`key`): shown only while both are still the current ones. */
export type Loaded<T> = {
  status: 'idle' | 'loading' | 'done' | 'error';
  data?: T;
  error?: string;
  runId?: number;
  key?: string;
};

export interface InspectSlice {
  inspectLayer: number;
  inspectSite: ActSite;
  /** channel order of the range chart */
  channelOrder: 'original' | 'reordered';
  inspectRole: LinearRole;
  activationMap: Loaded<ActivationMap>;
  weightView: Loaded<WeightView>;
  /** the user asked for the quantized weights: they follow the run, block and layer from then on */
  showWeights: boolean;
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

/** What a weight view shows: a block's layer. */
export const weightKey = (s: Pick<InspectSlice, 'inspectLayer' | 'inspectRole'>) =>
  `${s.inspectLayer}|${s.inspectRole}`;
/** What an activation map shows: a block's site in an order. */
export const activationKey = (s: Pick<InspectSlice, 'inspectLayer' | 'inspectSite' | 'channelOrder'>) =>
  `${s.inspectLayer}|${s.inspectSite}|${s.channelOrder}`;

/** The view if it belongs to the current run and selection, else undefined. */
export function current<T>(v: Loaded<T>, runId: number, key: string): Loaded<T> | undefined {
  return v.runId === runId && v.key === key ? v : undefined;
}

export const createInspectSlice: StateCreator<LabState, [], [], InspectSlice> = (set, get) => ({
  inspectLayer: 0,
  inspectSite: 'attn_norm',
  channelOrder: 'original',
  inspectRole: 'q',
  activationMap: { status: 'idle' },
  weightView: { status: 'idle' },
  showWeights: false,
  setInspect: (p) => set(p),
  async loadActivationMap() {
    const s = get();
    const { runId, result } = s;
    const key = activationKey(s);
    set({ activationMap: { status: 'loading', runId, key } });
    const report = inspectSites(result?.quant).find((r) => r.layer === s.inspectLayer && r.site === s.inspectSite);
    const perm = s.channelOrder === 'reordered' && report?.perm ? report.perm : undefined;
    // the run's own calibration and model, not the form's (which may have changed since)
    const recipe = s.resultSpec?.recipe ?? result?.config.recipe ?? s.spec().recipe;
    const out = await inspectActivations(
      sourceSpec(s.resultModel ?? s.model),
      recipe,
      s.inspectLayer,
      s.inspectSite,
      s.dataBase,
      perm,
    );
    if (get().runId !== runId || activationKey(get()) !== key) return;
    set({
      activationMap: out.error
        ? { status: 'error', error: pageError(out.error), runId, key }
        : { status: 'done', data: out.result, runId, key },
    });
  },
  async loadWeightView() {
    const s = get();
    const { runId } = s;
    const key = weightKey(s);
    set({ showWeights: true, weightView: { status: 'loading', runId, key } });
    const out = await inspectWeights(
      sourceSpec(s.resultModel ?? s.model),
      s.result?.quant?.blockKey,
      s.inspectLayer,
      s.inspectRole,
    );
    if (get().runId !== runId || weightKey(get()) !== key) return;
    set({
      weightView: out.error
        ? { status: 'error', error: pageError(out.error), runId, key }
        : { status: 'done', data: out.result, runId, key },
    });
  },
});
