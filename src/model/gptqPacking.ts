// The GPTQ checkpoint format (v1, `checkpoint_format: "gptq"`), as AutoGPTQ's qlinear_cuda_old, GPTQModel and vLLM's
// gptq.py read it. Per linear layer with K inputs and N outputs, `bits` ∈ {2, 3, 4, 8}:
//   qweight int32 [K·bits/32, N]  codes packed along the input dimension, least significant bits first: the codes of
//                                 column n form one bit stream down the rows (3 bits: codes 10 and 21 of every 32
//                                 straddle two words);
//   qzeros  int32 [G, N·bits/32]  zero points minus one, packed the same way along the output dimension;
//   scales  f16   [G, N];  g_idx int32 [K] (each input's group, in the act-order permutation when there is one).
// W[n, k] = scales[g, n] · (q[k, n] − (qzeros[g, n] + 1)) with g = g_idx[k]. The lab keeps W as [N, K] ([out, in]).
import { LabError } from '../errors.ts';
import * as ref from '../gpu/reference.ts';

export const GPTQ_BITS = [2, 3, 4, 8] as const;

/** Packing `count` codes needs `count·bits/32` whole words: the loaders compute the shapes that way. */
export function packedWords(count: number, bits: number): number {
  return (count * bits) / 32;
}

/** The widths a layer must have to be stored in the format, or why not. */
export function packable(count: number, bits: number): boolean {
  return Number.isInteger(packedWords(count, bits));
}

/** Writes code v (< 2^bits) at bit position p of a stream of words laid out with `stride` between consecutive words. */
function put(out: Uint32Array, base: number, stride: number, p: number, bits: number, v: number): void {
  const w = p >>> 5;
  const s = p & 31;
  out[base + w * stride] |= (v << s) >>> 0;
  if (s + bits > 32) out[base + (w + 1) * stride] |= v >>> (32 - s);
}

function get(words: Uint32Array, base: number, stride: number, p: number, bits: number): number {
  const mask = (1 << bits) - 1;
  const w = p >>> 5;
  const s = p & 31;
  let v = words[base + w * stride] >>> s;
  if (s + bits > 32) v |= words[base + (w + 1) * stride] << (32 - s);
  return v & mask;
}

/** codes [N, K] (the lab's [out, in]) → qweight [K·bits/32, N]. */
export function packQweight(codes: ArrayLike<number>, N: number, K: number, bits: number): Uint32Array {
  const rows = packedWords(K, bits);
  const out = new Uint32Array(rows * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) put(out, n, N, k * bits, bits, codes[n * K + k]);
  return out;
}

/** qweight [K·bits/32, N] → codes [N, K]. */
export function unpackQweight(qweight: Uint32Array, N: number, K: number, bits: number): Uint8Array {
  const out = new Uint8Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[n * K + k] = get(qweight, n, N, k * bits, bits);
  return out;
}

/**
 * zero points [G, N] → qzeros [G, N·bits/32], each stored as zero − 1 (v1). A zero point of 0 would be stored as
 * −1, which v1 loaders read back as 2^bits: callers count those (see zeroPointsV1CannotStore).
 */
export function packQzeros(zeros: ArrayLike<number>, G: number, N: number, bits: number): Uint32Array {
  const cols = packedWords(N, bits);
  const out = new Uint32Array(G * cols);
  const mask = (1 << bits) - 1;
  for (let g = 0; g < G; g++)
    for (let n = 0; n < N; n++) put(out, g * cols, 1, n * bits, bits, (zeros[g * N + n] - 1) & mask);
  return out;
}

/** qzeros [G, N·bits/32] → zero points [G, N] as v1 loaders read them: stored + 1. */
export function unpackQzeros(qzeros: Uint32Array, G: number, N: number, bits: number): Uint16Array {
  const cols = packedWords(N, bits);
  const out = new Uint16Array(G * N);
  for (let g = 0; g < G; g++) for (let n = 0; n < N; n++) out[g * N + n] = get(qzeros, g * cols, 1, n * bits, bits) + 1;
  return out;
}

/** How many zero points are 0: v1 stores zero − 1, so these load back as 2^bits (gptq_v2 fixed this). */
export function zeroPointsV1CannotStore(zeros: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < zeros.length; i++) if (zeros[i] === 0) n++;
  return n;
}

/**
 * A layer's weights W [N, K] f32 on the host (scales widened from f16): the gptqDequant kernel's twin, reference.ts.
 */
export function dequantizeGptq(
  l: { qweight: Uint32Array; qzeros: Uint32Array; scales: Float32Array; gIdx: Uint32Array },
  N: number,
  K: number,
  bits: number,
): Float32Array {
  const G = l.scales.length / N;
  return ref.gptqDequant(l.qweight, l.qzeros, ref.cpu(l.scales, [G, N]), l.gIdx, bits, N, K, G).data;
}

/** A group index out of range, or a g_idx of the wrong length: a specific error, not garbage weights. */
export function checkGroupIndex(gIdx: Uint32Array, K: number, G: number, layer: string): void {
  if (gIdx.length !== K) throw new LabError(`${layer}.g_idx has ${gIdx.length} entries; the layer has ${K} inputs`);
  for (let k = 0; k < K; k++)
    if (gIdx[k] >= G) throw new LabError(`${layer}.g_idx[${k}] = ${gIdx[k]}, but the layer has ${G} groups of scales`);
}
