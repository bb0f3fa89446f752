// 16-bit storage, included by the kernels that read weights kept in it (`// #include half16`: shaders.ts pastes this
// file in): two values per u32, element i in the low half when i is even (src/gpu/half.ts). A buffer's format is
// one of these, as the host's FORMAT table in kernels.ts passes it in each kernel's *_FORMAT override.
const FORMAT_F32: u32 = 0u;
const FORMAT_F16: u32 = 1u;
const FORMAT_BF16: u32 = 2u;

/** the half of word w that holds an element (the high half when odd), widened to f32: f16 or bf16 */
fn unpackHalf(w: u32, odd: bool, format: u32) -> f32 {
  if (format == FORMAT_F16) {
    let h = unpack2x16float(w);
    return select(h.x, h.y, odd);
  }
  return bitcast<f32>(select(w << 16u, w & 0xffff0000u, odd));
}

/** the four elements of two words, widened to f32: f16 or bf16 */
fn unpackHalf4(w: vec2u, format: u32) -> vec4f {
  if (format == FORMAT_F16) { return vec4f(unpack2x16float(w.x), unpack2x16float(w.y)); }
  return bitcast<vec4f>(vec4u(w.x << 16u, w.x & 0xffff0000u, w.y << 16u, w.y & 0xffff0000u));
}

/** f32 → f16 bits, round to nearest even, with integer operations (the same bits on every adapter and on the host) */
fn toF16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  if ((x & 0x7fffffffu) > 0x7f800000u) { return sign | 0x7e00u; }
  let e = i32((x >> 23u) & 0xffu) - 127 + 15;
  var m = x & 0x7fffffu;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    m = m | 0x800000u;
    let shift = u32(14 - e);
    var h = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u) == 1u)) { h += 1u; }
    return sign | h;
  }
  var h = (u32(e) << 10u) | (m >> 13u);
  let rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}

fn toBf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7fffffffu) > 0x7f800000u) { return ((x >> 16u) | 0x40u) & 0xffffu; }
  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;
}

/** v as 16-bit storage would hold it (f16 or bf16), widened back; FORMAT_F32: v itself */
fn roundHalf(v: f32, format: u32) -> f32 {
  if (format == FORMAT_F16) { return unpack2x16float(toF16(v)).x; }
  if (format == FORMAT_BF16) { return bitcast<f32>(toBf16(v) << 16u); }
  return v;
}

/** v (already a 16-bit value) as its 16 bits: f16 or bf16 */
fn toHalfBits(v: f32, format: u32) -> u32 {
  if (format == FORMAT_F16) { return toF16(v); }
  return toBf16(v);
}
