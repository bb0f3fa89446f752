// The Inspect panel's method views, by method name: a transform that reports per-site statistics brings its own view
// of them (RPTQ: clusters, reorder, activation error per grouping). Runs without one get the plain channel ranges.
import type { ComponentType } from 'react';
import type { SiteReport } from '../../quant/siteReport.ts';
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
