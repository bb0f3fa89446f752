// y[T, C] = x / sqrt(mean(x²) + eps) · g, per row (LLaMA's RMSNorm). One workgroup per row.
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;        // [C]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = wg.x * p.C;
  var s = 0.0;
  for (var c = li; c < p.C; c += 256u) { let v = x[base + c]; s += v * v; }
  red[li] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (li < k) { red[li] += red[li + k]; }
    workgroupBarrier();
  }
  let rstd = inverseSqrt(red[0] / f32(p.C) + p.eps);
  for (var c = li; c < p.C; c += 256u) { y[base + c] = x[base + c] * rstd * g[c]; }
}
