// Packed integer codes and 16-bit group scales, included (`// #include codeStream`, after half16) by the kernels that
// read a GPTQ-style layer: gptqDequant, matmulPacked, packedDequant. The includer declares `scales` (u32 words in
// S_FORMAT) and a uniform `p` with `bits`.

/** scale i of the layer, widened to f32 */
fn scale(i: u32) -> f32 {
  if (S_FORMAT == FORMAT_F32) { return bitcast<f32>(scales[i]); }
  return unpackHalf(scales[i >> 1u], (i & 1u) == 1u, S_FORMAT);
}

/** the code at bit s of lo, continued into hi when it runs past bit 31 */
fn field(lo: u32, hi: u32, s: u32) -> u32 {
  var v = lo >> s;
  if (s + p.bits > 32u) { v = v | (hi << (32u - s)); }
  return v & ((1u << p.bits) - 1u);
}
