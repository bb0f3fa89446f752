// GPTQ written out as shared/docs/methods.md states it, in plain TypeScript (f64) with no kernels: the
// executable definition the WebGPU implementation (gptq.ts) is tested against.
import { fitRange, quantize } from '../gpu/reference.ts';
import { cholesky, choleskyInverse, choleskyUpper } from './linalg.ts';
import type { GptqOptions } from './gptq.ts';

export function gptqPlain(W0: Float32Array, H0: Float64Array, R: number, K: number, o: GptqOptions): Float32Array {
  const maxq = 2 ** o.wbits - 1;
  const g = o.groupsize > 0 ? o.groupsize : K;
  const W = Float64Array.from(W0); // [R, K]
  let H = Float64Array.from(H0); // [K, K]
  for (let d = 0; d < K; d++)
    if (H[d * K + d] === 0) {
      H[d * K + d] = 1;
      for (let r = 0; r < R; r++) W[r * K + d] = 0;
    }
  const fit = (M: Float64Array, c0: number, c1: number) =>
    Array.from({ length: R }, (_, r) => {
      let lo = Infinity;
      let hi = -Infinity;
      for (let c = c0; c < c1; c++) ((lo = Math.min(lo, M[r * K + c])), (hi = Math.max(hi, M[r * K + c])));
      return fitRange(lo, hi, maxq, o.sym);
    });
  const staticGroups =
    o.staticGroups && o.groupsize > 0
      ? Array.from({ length: Math.ceil(K / g) }, (_, i) => fit(W, i * g, Math.min(K, (i + 1) * g)))
      : null;

  let perm = Array.from({ length: K }, (_, i) => i);
  if (o.actOrder) perm.sort((a, b) => H[b * K + b] - H[a * K + a] || a - b);
  const Wp = new Float64Array(R * K);
  const Hp = new Float64Array(K * K);
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) Wp[r * K + c] = W[r * K + perm[c]];
  for (let i = 0; i < K; i++) for (let j = 0; j < K; j++) Hp[i * K + j] = H[perm[i] * K + perm[j]];
  H = Hp;

  let mean = 0;
  for (let d = 0; d < K; d++) mean += H[d * K + d] / K;
  for (let d = 0; d < K; d++) H[d * K + d] += o.percdamp * mean;
  const U = choleskyUpper(choleskyInverse(cholesky(H, K), K), K);

  const Q = new Float64Array(R * K);
  let params = fit(Wp, 0, K);
  for (let i1 = 0; i1 < K; i1 += o.blocksize) {
    const i2 = Math.min(i1 + o.blocksize, K);
    const W1 = Wp.slice(); // intra-block updates go to the copy; group fits read Wp (the block-start state)
    const Err = new Float64Array(R * (i2 - i1));
    for (let i = i1; i < i2; i++) {
      if (o.groupsize > 0) {
        if (staticGroups) params = staticGroups[Math.floor(perm[i] / g)];
        else if (i % g === 0) params = fit(Wp, i, Math.min(K, i + g));
      }
      const d = U[i * K + i];
      for (let r = 0; r < R; r++) {
        const w = W1[r * K + i];
        const q = quantize(w, params[r][0], params[r][1], maxq);
        Q[r * K + i] = q;
        const err = (w - q) / d;
        Err[r * (i2 - i1) + (i - i1)] = err;
        for (let j = i + 1; j < i2; j++) W1[r * K + j] -= err * U[i * K + j];
      }
    }
    // lazy batch update of the columns after the block
    for (let r = 0; r < R; r++)
      for (let j = i2; j < K; j++) {
        let s = 0;
        for (let k = i1; k < i2; k++) s += Err[r * (i2 - i1) + (k - i1)] * U[k * K + j];
        Wp[r * K + j] -= s;
      }
  }
  const out = new Float32Array(R * K);
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) out[r * K + perm[c]] = Q[r * K + c];
  return out;
}
