// A quantized linear layer kept as what it is: integer codes packed in u32 words, a scale and a zero point per group
// of every output row, and each input's group — the GPTQ layout (gptqPacking.ts) with two differences that cost
// nothing here: the zero point is stored as is (v1's "minus one" cannot hold a zero of 0), and a bit stream that does
// not fill its last word is padded (stories260K's 172 inputs). matmulPacked.wgsl reads it directly, so the dense
// copy is never made. Scales stay f16 when every scale is one (an --f16_scales run), f32 otherwise: either way the
// dequantized weight is the dense path's bit for bit.
import type { Backend, Ids } from '../gpu/backend.ts';
import { roundToHalf, toHalfBits, type Half } from '../gpu/half.ts';

export interface PackedLinear<T> {
  codes: Ids<T>; // [ceil(K·bits/32), N]
  zeros: Ids<T>; // [G, ceil(N·bits/32)]
  scales: T; // [G, N], f32 or f16
  gIdx: Ids<T>; // [K]
  bits: number;
  N: number;
  K: number;
  G: number;
  /** the storage the dense copy would have had: each dequantized weight is rounded to it, as that copy was */
  round: 'f32' | Half;
  /** bytes on the backend */
  bytes: number;
}

export interface HostPacked {
  codes: Uint32Array;
  zeros: Uint32Array;
  scales: Float32Array;
  /** every scale is an f16 value: stored in 16 bits */
  scales16: boolean;
  gIdx: Uint32Array;
  bits: number;
  N: number;
  K: number;
  G: number;
}

/** words a stream of `count` codes of `bits` takes, the last one padded */
export const streamWords = (count: number, bits: number) => Math.ceil((count * bits) / 32);

function put(out: Uint32Array, base: number, stride: number, p: number, bits: number, v: number): void {
  const w = p >>> 5;
  const s = p & 31;
  out[base + w * stride] |= (v << s) >>> 0;
  if (s + bits > 32) out[base + (w + 1) * stride] |= v >>> (32 - s);
}

/**
 * Codes q [N, K] (< 2^bits), zero points and scales [G, N] (zero points whole codes) and each input's group, as packed
 * host arrays.
 */
export function packCodes(
  q: Uint8Array,
  zero: Float32Array,
  scales: Float32Array,
  gIdx: Uint32Array,
  bits: number,
  N: number,
  K: number,
): HostPacked {
  const G = scales.length / N;
  const codes = new Uint32Array(streamWords(K, bits) * N);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) put(codes, n, N, k * bits, bits, q[n * K + k]);
  const zcols = streamWords(N, bits);
  const zeros = new Uint32Array(G * zcols);
  for (let g = 0; g < G; g++) for (let n = 0; n < N; n++) put(zeros, g * zcols, 1, n * bits, bits, zero[g * N + n]);
  const scales16 = roundToHalf(scales, 'f16').every((v, i) => v === scales[i]);
  return { codes, zeros, scales, scales16, gIdx, bits, N, K, G };
}

/** Bytes of a packed layer on the backend (what the run reports against the dense copy). */
export function packedBytes(h: Pick<HostPacked, 'N' | 'K' | 'G' | 'bits' | 'scales16'>): number {
  const words = streamWords(h.K, h.bits) * h.N + h.G * streamWords(h.N, h.bits);
  const scales = h.scales16 ? Math.ceil((h.G * h.N) / 2) * 4 : h.G * h.N * 4;
  return 4 * words + scales + 4 * h.K;
}

export function uploadPacked<T>(be: Backend<T>, h: HostPacked, round: 'f32' | Half): PackedLinear<T> {
  return {
    codes: be.ids(h.codes),
    zeros: be.ids(h.zeros),
    scales: h.scales16
      ? be.fromHost16(toHalfBits(h.scales, 'f16'), 'f16', [h.G, h.N])
      : be.fromHost(h.scales, [h.G, h.N]),
    gIdx: be.ids(h.gIdx),
    bits: h.bits,
    N: h.N,
    K: h.K,
    G: h.G,
    round,
    bytes: packedBytes(h),
  };
}

export function releasePacked<T>(be: Backend<T>, p: PackedLinear<T>): void {
  be.release(p.codes);
  be.release(p.zeros);
  be.release(p.scales);
  be.release(p.gIdx);
}
