// The Inspect panel's method views, by method name: a transform that reports per-site statistics brings its own view
// of them (RPTQ: clusters, reorder, activation error per grouping). Runs without one get the plain channel ranges.
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

export const METHOD_VIEWS: Record<string, ComponentType<MethodViewProps>> = {
  rptq: RptqView,
};

/** What a transform view with its own report shape sees: every block's report, the picked block and site. */
export interface TransformViewProps {
  reports: unknown[];
  layer: number;
  site: ActSite;
  siteName: string;
}

/** Transforms whose reports are not channel-range sites (DuQuant: the four linear inputs' stages and rotations). */
export const TRANSFORM_VIEWS: Record<string, { sites: readonly ActSite[]; View: ComponentType<TransformViewProps> }> = {
  duquant: { sites: LINEAR_SITES, View: DuquantView },
};

/** What a weight step's view of one quantized layer sees: its detail (kept with the cached block), the run's layers. */
export interface WeightViewProps {
  detail: unknown;
  /** HF name of the layer */
  linear: string;
  layers: LayerReport[];
  /** the weight step's baseline measured in the same run (CLAQ: GPTQ), when asked for */
  baseline?: { label: string; layers: LayerReport[] };
}

/** Weight steps that keep a per-layer detail (CLAQ: column bits, codebooks, reserved values). */
export const WEIGHT_VIEWS: Record<string, ComponentType<WeightViewProps>> = {
  claq: ClaqView,
};
