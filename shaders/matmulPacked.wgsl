// y = x·Wᵀ + b with W kept packed (src/model/packedLinear.ts): each weight is dequantized in registers as it is read,
//   W[n, k] = scale[g, n] · (q[k, n] − z[g, n]),  g = gIdx[k],
// q[k, n] at bits [k·bits, k·bits + bits) of column n's bit stream down `codes` (word w at w·N + n, least significant
// first; a 3-bit code may straddle two words), z[g, n] at bits [n·bits, …) of row g of `zeros` (the zero point itself,
// not minus one). The product is exact in f32 for a 16-bit scale, so the weight is the dense path's weight bit for bit;
// W_ROUND rounds it as 16-bit storage would (a checkpoint whose dense copy the store keeps in f16 or bf16).
// For a few rows of x (decoding): one thread per output n and up to ROWS rows, each code word read once per token,
// codes taken a word at a time when bits divides 32. Its sums run in the order of the dense matmul the adapter uses
// (matmul.wgsl: k by k, or with DOT4 as dot products of four consecutive k), so a decoded token's logits are those of
// a full forward over the same sequence bit for bit, and cached decoding gives the uncached tokens. A prefill dequantizes the layer instead (packedDequant.wgsl) and
// runs the tiled matmul on that transient dense copy.
struct Params { T: u32, N: u32, K: u32, bits: u32, zcols: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, K]
@group(0) @binding(1) var<storage, read> codes: array<u32>;    // [ceil(K·bits/32), N]
@group(0) @binding(2) var<storage, read> zeros: array<u32>;    // [G, zcols]
@group(0) @binding(3) var<storage, read> scales: array<u32>;   // [G, N] in S_FORMAT
@group(0) @binding(4) var<storage, read> gIdx: array<u32>;     // [K]
@group(0) @binding(5) var<storage, read> bias: array<f32>;     // [N] (unread without HAS_BIAS)
@group(0) @binding(6) var<storage, read_write> y: array<f32>;  // [T, N]
@group(0) @binding(7) var<uniform> p: Params;

override S_FORMAT: u32 = 0u;
override W_ROUND: u32 = 0u;
override HAS_BIAS: u32 = 0u;
override ROWS: u32 = 4u;

// #include half16
// #include codeStream

fn zeroAt(g: u32, n: u32) -> f32 {
  let b = n * p.bits;
  let w = g * p.zcols + (b >> 5u);
  let s = b & 31u;
  var hi = 0u;
  if (s + p.bits > 32u) { hi = zeros[w + 1u]; }
  return f32(field(zeros[w], hi, s));
}

override WORDWISE: u32 = 0u; // 1: bits divides 32, so no code straddles two words
override DOT4: u32 = 0u; // 1: sum dot(x[k..k+3], w[k..k+3]) as matmul.wgsl's direct4 does (K a multiple of 4)

@compute @workgroup_size(64)
fn gemv(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let t0 = gid.y * ROWS;
  if (n >= p.N || t0 >= p.T) { return; }
  let rows = min(ROWS, p.T - t0);
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  var w4 = vec4f(0.0);
  var gPrev = 0xffffffffu;
  var s = 0.0;
  var z = 0.0;
  let mask = (1u << p.bits) - 1u;
  let per = select(1u, 32u / p.bits, WORDWISE == 1u);
  let words = (p.K * p.bits + 31u) / 32u;
  for (var w = 0u; w < select(p.K, words, WORDWISE == 1u); w++) {
    var word = 0u;
    if (WORDWISE == 1u) { word = codes[w * p.N + n]; }
    for (var j = 0u; j < per; j++) {
      let k = w * per + j;
      if (k >= p.K) { break; }
      let g = gIdx[k];
      if (g != gPrev) {
        s = scale(g * p.N + n);
        z = zeroAt(g, n);
        gPrev = g;
      }
      var q = 0u;
      if (WORDWISE == 1u) {
        q = (word >> (j * p.bits)) & mask;
      } else {
        let b = k * p.bits;
        let sh = b & 31u;
        let wi = (b >> 5u) * p.N + n;
        var hi = 0u;
        if (sh + p.bits > 32u) { hi = codes[wi + p.N]; }
        q = field(codes[wi], hi, sh);
      }
      let wv = roundHalf(s * (f32(q) - z), W_ROUND);
      if (DOT4 == 0u) {
        for (var i = 0u; i < rows; i++) { acc[i] += x[(t0 + i) * p.K + k] * wv; }
      } else {
        w4[k & 3u] = wv;
        if ((k & 3u) == 3u) {
          for (var i = 0u; i < rows; i++) {
            let o = (t0 + i) * p.K + k - 3u;
            acc[i] += dot(vec4f(x[o], x[o + 1u], x[o + 2u], x[o + 3u]), w4);
          }
        }
      }
    }
  }
  var b0 = 0.0;
  if (HAS_BIAS == 1u) { b0 = bias[n]; }
  for (var i = 0u; i < rows; i++) { y[(t0 + i) * p.N + n] = acc[i] + b0; }
}
