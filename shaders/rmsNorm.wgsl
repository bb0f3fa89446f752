// y[T, C] = x / sqrt(mean(x²) + eps) · g, per row (LLaMA's RMSNorm). One thread per row, no barriers.
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;        // [C]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { let v = x[base + c]; s += v * v; }
  let rstd = inverseSqrt(s / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) { y[base + c] = x[base + c] * rstd * g[c]; }
}
