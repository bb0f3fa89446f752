// 16-bit weight storage: IEEE half (f16) and bfloat16, packed two per u32 (element e in word e >> 1, low half first),
// the layout the kernels read with unpack2x16float / a 16-bit shift. Rounding f32 → 16 bits is round-to-nearest-even,
// done identically here and in convert.wgsl (its twin), so a weight packed on the host or on the GPU is the same bits.

export type Half = 'f16' | 'bf16';

const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    t[h] = e === 0 ? s * m * 2 ** -24 : e === 31 ? (m ? NaN : s * Infinity) : s * (1 + m / 1024) * 2 ** (e - 15);
  }
  return t;
})();

export function f16ToF32(h: number): number {
  return F16_TABLE[h];
}

const u32 = new Uint32Array(1);
const f32 = new Float32Array(u32.buffer);

/** f32 → f16 bits, round to nearest even; overflow → ±Inf, NaN stays NaN. */
export function f32ToF16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  if ((x & 0x7fffffff) > 0x7f800000) return sign | 0x7e00;
  const e = ((x >>> 23) & 0xff) - 127 + 15;
  let m = x & 0x7fffff;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1) === 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1) === 1)) h++;
  return sign | h;
}

/** f32 → bfloat16 bits, round to nearest even; NaN stays NaN. */
export function f32ToBf16(v: number): number {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

export function bf16ToF32(b: number): number {
  u32[0] = b << 16;
  return f32[0];
}

/** f32 values → their 16-bit encodings. */
export function toHalfBits(data: Float32Array, format: Half): Uint16Array {
  const enc = format === 'f16' ? f32ToF16 : f32ToBf16;
  return Uint16Array.from(data, enc);
}

/** 16-bit encodings → f32 (exact). */
export function fromHalfBits(bits: Uint16Array, format: Half): Float32Array {
  const out = new Float32Array(bits.length);
  if (format === 'bf16') new Uint32Array(out.buffer).set(Uint32Array.from(bits, (b) => b << 16));
  else for (let i = 0; i < bits.length; i++) out[i] = F16_TABLE[bits[i]];
  return out;
}

/** f32 values rounded to what 16-bit storage keeps (the reference backend's twin of packed storage). */
export function roundToHalf(data: Float32Array, format: Half): Float32Array {
  return fromHalfBits(toHalfBits(data, format), format);
}
