// y[M, N] = x[M, K] · W[N, K]ᵀ (+ b[N])  — Hugging Face linear layout, bias fused.
// Tiled: a 64×64 output tile per workgroup, 16×16 threads each holding a 4×4 register block, K in steps of 16.
// Any M, N, K: edges are bounds-checked, not padded.
// W_FORMAT: how W is stored — 0 f32; 1 f16 and 2 bf16, two per u32 (half16.wgsl): the weights stay 16-bit in
// memory and are widened in registers; activations and accumulation are f32 throughout.

struct Params { M: u32, N: u32, K: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [M, K]
@group(0) @binding(1) var<storage, read> W: array<u32>;        // [N, K] in W_FORMAT
@group(0) @binding(2) var<storage, read> b: array<f32>;        // [N] (ignored unless HAS_BIAS)
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [M, N]
@group(0) @binding(4) var<uniform> p: Params;

override HAS_BIAS: bool = false;
override W_FORMAT: u32 = 0u;

// #include half16

/** element i of W, widened to f32 */
fn weight(i: u32) -> f32 {
  if (W_FORMAT == FORMAT_F32) { return bitcast<f32>(W[i]); }
  return unpackHalf(W[i >> 1u], (i & 1u) == 1u, W_FORMAT);
}

const TM: u32 = 64u;
const TN: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> As: array<f32, 1024>; // [TK][TM]: As[k * TM + m]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]: Bs[k * TN + n]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // 1024 elements of each tile, 256 threads: 4 loads each, consecutive threads read consecutive k.
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      let r = e / TK;
      let k = e % TK;
      let gk = k0 + k;
      var av = 0.0;
      if (row0 + r < p.M && gk < p.K) { av = x[(row0 + r) * p.K + gk]; }
      As[k * TM + r] = av;
      var bv = 0.0;
      if (col0 + r < p.N && gk < p.K) { bv = weight((col0 + r) * p.K + gk); }
      Bs[k * TN + r] = bv;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let a = vec4f(As[k * TM + lid.y * 4u], As[k * TM + lid.y * 4u + 1u], As[k * TM + lid.y * 4u + 2u], As[k * TM + lid.y * 4u + 3u]);
      let bb = vec4f(Bs[k * TN + lid.x * 4u], Bs[k * TN + lid.x * 4u + 1u], Bs[k * TN + lid.x * 4u + 2u], Bs[k * TN + lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i * 4u] += a[i] * bb.x;
        acc[i * 4u + 1u] += a[i] * bb.y;
        acc[i * 4u + 2u] += a[i] * bb.z;
        acc[i * 4u + 3u] += a[i] * bb.w;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c >= p.N) { continue; }
      var v = acc[i * 4u + j];
      if (HAS_BIAS) { v += b[c]; }
      y[r * p.N + c] = v;
    }
  }
}

// Barrier-free variant for software adapters (SwiftShader runs workgroup barriers on fibers, which costs far
// more than the cache reuse they buy): each thread computes a 4×4 block straight from global memory.
@compute @workgroup_size(8, 8)
fn direct(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 4u;
  let c0 = gid.x * 4u;
  if (r0 >= p.M || c0 >= p.N) { return; }
  var acc: array<vec4f, 4>;
  let rs = vec4u(min(r0, p.M - 1u), min(r0 + 1u, p.M - 1u), min(r0 + 2u, p.M - 1u), min(r0 + 3u, p.M - 1u)) * p.K;
  let cs = vec4u(min(c0, p.N - 1u), min(c0 + 1u, p.N - 1u), min(c0 + 2u, p.N - 1u), min(c0 + 3u, p.N - 1u)) * p.K;
  for (var k = 0u; k < p.K; k++) {
    let w = vec4f(weight(cs.x + k), weight(cs.y + k), weight(cs.z + k), weight(cs.w + k));
    acc[0] += x[rs.x + k] * w;
    acc[1] += x[rs.y + k] * w;
    acc[2] += x[rs.z + k] * w;
    acc[3] += x[rs.w + k] * w;
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + j;
      if (c >= p.N) { break; }
      var v = acc[i][j];
      if (HAS_BIAS) { v += b[c]; }
      y[r * p.N + c] = v;
    }
  }
}

// The barrier-free variant with vec4 loads along K (K a multiple of 4): a quarter of the load instructions, and the
// 4×4 block as 16 dot products. Four weights are a vec4u in f32 and a vec2u in 16-bit storage.
@group(0) @binding(0) var<storage, read> x4: array<vec4f>;       // [M, K/4]
@group(0) @binding(1) var<storage, read> W4: array<vec4u>;       // [N, K/4] f32 (direct4)
@group(0) @binding(1) var<storage, read> W2: array<vec2u>;       // [N, K/4] f16 / bf16 (direct4h)
@group(0) @binding(2) var<storage, read> b4: array<f32>;         // [N]
@group(0) @binding(3) var<storage, read_write> y4: array<f32>;   // [M, N]
@group(0) @binding(4) var<uniform> q: Params;
override K4: u32 = 1u; // K / 4, fixed per pipeline so the compiler sees a constant loop bound

/** weights 4i..4i+3 of W in 16-bit storage, widened */
fn weight4h(i: u32) -> vec4f {
  return unpackHalf4(W2[i], W_FORMAT);
}

/** acc[i] += (x row rs[i], cols 4k..4k+3) · the four weight vectors */
fn fma4(acc: ptr<function, array<vec4f, 4>>, rs: vec4u, k: u32, w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f) {
  let a0 = x4[rs.x + k];
  let a1 = x4[rs.y + k];
  let a2 = x4[rs.z + k];
  let a3 = x4[rs.w + k];
  (*acc)[0] += vec4f(dot(a0, w0), dot(a0, w1), dot(a0, w2), dot(a0, w3));
  (*acc)[1] += vec4f(dot(a1, w0), dot(a1, w1), dot(a1, w2), dot(a1, w3));
  (*acc)[2] += vec4f(dot(a2, w0), dot(a2, w1), dot(a2, w2), dot(a2, w3));
  (*acc)[3] += vec4f(dot(a3, w0), dot(a3, w1), dot(a3, w2), dot(a3, w3));
}

/** the 4×4 block at (r0, c0), bias added, edges skipped */
fn store4(acc: array<vec4f, 4>, r0: u32, c0: u32) {
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= q.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + j;
      if (c >= q.N) { break; }
      var v = acc[i][j];
      if (HAS_BIAS) { v += b4[c]; }
      y4[r * q.N + c] = v;
    }
  }
}

fn rowsOf(r0: u32, n: u32, stride: u32) -> vec4u {
  return vec4u(min(r0, n - 1u), min(r0 + 1u, n - 1u), min(r0 + 2u, n - 1u), min(r0 + 3u, n - 1u)) * stride;
}

@compute @workgroup_size(8, 8)
fn direct4(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 4u;
  let c0 = gid.x * 4u;
  if (r0 >= q.M || c0 >= q.N) { return; }
  var acc: array<vec4f, 4>;
  let rs = rowsOf(r0, q.M, K4);
  let cs = rowsOf(c0, q.N, K4);
  for (var k = 0u; k < K4; k++) {
    fma4(&acc, rs, k, bitcast<vec4f>(W4[cs.x + k]), bitcast<vec4f>(W4[cs.y + k]), bitcast<vec4f>(W4[cs.z + k]), bitcast<vec4f>(W4[cs.w + k]));
  }
  store4(acc, r0, c0);
}

@compute @workgroup_size(8, 8)
fn direct4h(@builtin(global_invocation_id) gid: vec3u) {
  let r0 = gid.y * 4u;
  let c0 = gid.x * 4u;
  if (r0 >= q.M || c0 >= q.N) { return; }
  var acc: array<vec4f, 4>;
  let rs = rowsOf(r0, q.M, K4);
  let cs = rowsOf(c0, q.N, K4);
  for (var k = 0u; k < K4; k++) {
    fma4(&acc, rs, k, weight4h(cs.x + k), weight4h(cs.y + k), weight4h(cs.z + k), weight4h(cs.w + k));
  }
  store4(acc, r0, c0);
}
