// y[T, C] = x / sqrt(mean(x²) + eps) · g, per row (LLaMA's RMSNorm). One thread per row, no barriers.
// With PERMUTED, output channel c is input channel perm[c] (RPTQ's reorder folded into the norm; g arrives permuted).
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;        // [C]
@group(0) @binding(2) var<storage, read> perm: array<u32>;     // [C] (ignored unless PERMUTED)
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(4) var<uniform> p: Params;

override PERMUTED: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { let v = x[base + c]; s += v * v; }
  let rstd = inverseSqrt(s / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) {
    var src = c;
    if (PERMUTED) { src = perm[c]; }
    y[base + c] = x[base + src] * rstd * g[c];
  }
}
