// The Inspect panel's method views: one map, by method name, each entry saying what it shows. A transform that
// reports per-site statistics draws them its way (`sites`: RPTQ's clusters, reorder, activation error per grouping);
// a transform with a report of its own shape brings its sites and view (`transform`: DuQuant's stages and rotations);
// a weight step that keeps a per-layer detail draws it beside the quantized weights (`weight`: CLAQ's column bits and
// codebooks). Runs without one get the plain channel ranges.
import type { ComponentType } from 'react';
import type { ActSite } from '../../model/taps.ts';
import type { SiteReport } from '../../quant/siteReport.ts';
import { LINEAR_SITES } from '../../quant/smoothing.ts';
import type { LayerReport } from '../../pipeline/types.ts';
import { ClaqView } from './ClaqView.tsx';
import { DuquantView } from './DuquantView.tsx';
import { RptqView } from './RptqView.tsx';

export interface MethodViewProps {
  /** every site report of the run */
  sites: SiteReport[];
  /** the one picked (block and site) */
  site: SiteReport;
  siteName: string;
}

/** What a transform view with its own report shape sees: every block's report, the picked block and site. */
export interface TransformViewProps {
  reports: unknown[];
  layer: number;
  site: ActSite;
  siteName: string;
}

/** What a weight step's view of one quantized layer sees: its detail (kept with the cached block), the run's layers. */
export interface WeightViewProps {
  detail: unknown;
  /** HF name of the layer */
  linear: string;
  layers: LayerReport[];
  /** the weight step's baseline measured in the same run (CLAQ: GPTQ), when asked for */
  baseline?: { label: string; layers: LayerReport[] };
}

export type MethodView =
  | { kind: 'sites'; View: ComponentType<MethodViewProps> }
  | { kind: 'transform'; sites: readonly ActSite[]; View: ComponentType<TransformViewProps> }
  | { kind: 'weight'; View: ComponentType<WeightViewProps> };

export const METHOD_VIEWS: Record<string, MethodView> = {
  rptq: { kind: 'sites', View: RptqView },
  duquant: { kind: 'transform', sites: LINEAR_SITES, View: DuquantView },
  claq: { kind: 'weight', View: ClaqView },
};

/** A method's view of a kind, when it has one. */
export function viewOf<K extends MethodView['kind']>(
  method: string | undefined,
  kind: K,
): Extract<MethodView, { kind: K }> | undefined {
  const v = method ? METHOD_VIEWS[method] : undefined;
  return v?.kind === kind ? (v as Extract<MethodView, { kind: K }>) : undefined;
}
