// RPTQ's activation quantizer parameters: static and asymmetric, one (scale, zero) per cluster from the cluster's
// min of mins and max of maxes, the range as it is (not widened to 0). [ref] divides by 2^b; the lab uses 2^b − 1
// levels (shared/docs/methods.md).
import { fitRange } from './grid.ts';

/** ranges [C, 2] (min, max) per channel, cluster [C] → params [clusters, 2] (scale, zero) */
export function clusterParams(
  ranges: Float32Array,
  cluster: Uint32Array,
  clusters: number,
  bits: number,
): Float32Array {
  const lo = new Float64Array(clusters).fill(Infinity);
  const hi = new Float64Array(clusters).fill(-Infinity);
  cluster.forEach((k, c) => {
    lo[k] = Math.min(lo[k], ranges[c * 2]);
    hi[k] = Math.max(hi[k], ranges[c * 2 + 1]);
  });
  const out = new Float32Array(clusters * 2);
  for (let k = 0; k < clusters; k++) out.set(fitRange(lo[k], hi[k], 2 ** bits - 1, false, false), k * 2);
  return out;
}
