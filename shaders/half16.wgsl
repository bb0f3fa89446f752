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
