// A packed layer (src/model/packedLinear.ts, read as matmulPacked.wgsl reads it) into a transient dense copy for a
// prefill's tiled matmul: W[n, k] = scale[g, n]·(q[k, n] − z[g, n]), g = gIdx[k], exact in f32, then as the store
// keeps dense weights — f32, or with OUT16 two 16-bit values per word (element i in the low half when i is even),
// rounded to nearest even — so the matmul that follows is the dense path's own, bit for bit.
struct Params { N: u32, K: u32, bits: u32, zcols: u32 }

@group(0) @binding(0) var<storage, read> codes: array<u32>;    // [ceil(K·bits/32), N]
@group(0) @binding(1) var<storage, read> zeros: array<u32>;    // [G, zcols]
@group(0) @binding(2) var<storage, read> scales: array<u32>;   // [G, N] in S_FORMAT
@group(0) @binding(3) var<storage, read> gIdx: array<u32>;     // [K]
@group(0) @binding(4) var<storage, read_write> W: array<u32>;  // [N, K] f32, or [ceil(N·K/2)] 16-bit pairs
@group(0) @binding(5) var<uniform> p: Params;

override S_FORMAT: u32 = 0u;
/** the store's format for dense weights: 0 f32, 1 f16, 2 bf16 */
override OUT_FORMAT: u32 = 0u;

// #include half16
// #include codeStream

/** element e of W [N, K] in f32 */
fn weight(e: u32) -> f32 {
  let n = e / p.K;
  let k = e % p.K;
  let g = gIdx[k];
  let b = k * p.bits;
  let sh = b & 31u;
  let wi = (b >> 5u) * p.N + n;
  var hi = 0u;
  if (sh + p.bits > 32u) { hi = codes[wi + p.N]; }
  let zb = n * p.bits;
  let zw = g * p.zcols + (zb >> 5u);
  var zhi = 0u;
  if ((zb & 31u) + p.bits > 32u) { zhi = zeros[zw + 1u]; }
  let z = f32(field(zeros[zw], zhi, zb & 31u));
  return scale(g * p.N + n) * (f32(field(codes[wi], hi, sh)) - z);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let total = p.N * p.K;
  if (OUT_FORMAT == FORMAT_F32) {
    if (i < total) { W[i] = bitcast<u32>(weight(i)); }
    return;
  }
  let e = 2u * i;
  if (e >= total) { return; }
  var hi = 0u;
  if (e + 1u < total) { hi = toHalfBits(weight(e + 1u), OUT_FORMAT); }
  W[i] = toHalfBits(weight(e), OUT_FORMAT) | (hi << 16u);
}
