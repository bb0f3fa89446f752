// GPTQ's column loop over one block of columns [i1, i1 + count), one thread per weight row. The row's block lives
// in private memory (W1 in the paper's code) and takes the intra-block rank-1 updates; W in global memory keeps its
// block-start state, which is what group parameters are fitted on. Per column i:
//   q = quant(w_i);  err = (w_i − q) / U[i, i];  w_{i..end} −= err · U[i, i..end];  Err[:, i] = err.
struct Params { R: u32, K: u32, i1: u32, count: u32, totalGroups: u32, maxq: f32 }

@group(0) @binding(0) var<storage, read> U: array<f32>;              // [K, K] upper Cholesky factor of H⁻¹
@group(0) @binding(1) var<storage, read> W: array<f32>;              // [R, K]
@group(0) @binding(2) var<storage, read> params: array<vec2f>;       // [R, totalGroups] (scale, zero)
@group(0) @binding(3) var<storage, read> colGroup: array<u32>;       // [K]
@group(0) @binding(4) var<storage, read_write> Q: array<f32>;        // [R, K]
@group(0) @binding(5) var<storage, read_write> Err: array<f32>;      // [R, BLOCK]
@group(0) @binding(6) var<uniform> p: Params;

const BLOCK: u32 = 128u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= p.R) { return; }
  var w: array<f32, BLOCK>;
  for (var i = 0u; i < p.count; i++) { w[i] = W[r * p.K + p.i1 + i]; }
  for (var i = 0u; i < p.count; i++) {
    let col = p.i1 + i;
    let sz = params[r * p.totalGroups + colGroup[col]];
    let level = clamp(round(w[i] / sz.x) + sz.y, 0.0, p.maxq);
    let qv = sz.x * (level - sz.y);
    Q[r * p.K + col] = qv;
    let err = (w[i] - qv) / U[col * p.K + col];
    Err[r * BLOCK + i] = err;
    for (var j = i + 1u; j < p.count; j++) { w[j] -= err * U[col * p.K + p.i1 + j]; }
  }
}
