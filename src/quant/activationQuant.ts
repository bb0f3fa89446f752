// RPTQ's activation quantizer parameters: static and asymmetric, one (scale, zero) per cluster from the cluster's
// min of mins and max of maxes. [ref] divides by 2^b; the lab uses 2^b − 1 levels (shared/docs/methods.md).
import { roundEven } from '../gpu/reference.ts';

/** ranges [C, 2] (min, max) per channel, cluster [C] → params [clusters, 2] (scale, zero) */
export function clusterParams(ranges: Float32Array, cluster: Uint32Array, clusters: number, bits: number): Float32Array {
  const lo = new Float64Array(clusters).fill(Infinity);
  const hi = new Float64Array(clusters).fill(-Infinity);
  cluster.forEach((k, c) => {
    lo[k] = Math.min(lo[k], ranges[c * 2]);
    hi[k] = Math.max(hi[k], ranges[c * 2 + 1]);
  });
  const maxq = 2 ** bits - 1;
  const out = new Float32Array(clusters * 2);
  for (let k = 0; k < clusters; k++) {
    const span = hi[k] - lo[k];
    const scale = Math.fround(span > 0 ? span / maxq : Math.max(Math.abs(hi[k]), 1e-8));
    out[k * 2] = scale;
    out[k * 2 + 1] = roundEven(Math.fround(-lo[k] / scale));
  }
  return out;
}

/** Each channel's point for clustering: [max, min] (R1, R3, R4, R5), zero-padded to the kernel's vec4. */
export function rangePoints(ranges: Float32Array): Float32Array {
  const C = ranges.length / 2;
  const P = new Float32Array(C * 4);
  for (let c = 0; c < C; c++) (P[c * 4] = ranges[c * 2 + 1]), (P[c * 4 + 1] = ranges[c * 2]);
  return P;
}
