// What a run reports for one activation site of one block, in the original channel order (plain arrays, so it
// serializes): per-channel ranges, and where a transform grouped or reordered channels, its clusters, permutation and
// the activation error of each grouping. Every run has the ranges; RPTQ fills in the rest; the Inspect views draw it.
import type { ActSite } from '../model/taps.ts';

export interface SiteReport {
  layer: number;
  site: ActSite;
  /** the transform's name for the point the site belongs to (RPTQ: R1..R5) */
  point?: string;
  bits: number;
  channels: number;
  /** channel groups at this site (1: one range per tensor) */
  clusters: number;
  /** a reorder is folded into the weights (false: applied at run time, or no reorder) */
  folded: boolean;
  /** (min, max) per channel, original order */
  ranges: number[];
  /** new channel i is original channel perm[i]; null without reorder */
  perm: number[] | null;
  /** the group of each original channel */
  labels: number[];
  /** (min, max) per group */
  clusterRanges: number[];
  /** relative squared activation error ‖x̂ − x‖²/‖x‖² over the calibration tokens, per grouping */
  error?: Record<string, number>;
}
