// y[T, C] = (x − mean) / sqrt(var + eps) · g + b, per row. One thread per row, no barriers (rows are short next to
// the matmuls around them, and software adapters pay heavily for workgroup barriers). Mean first, then the centred
// variance: two passes, so rows with a large mean lose nothing to cancellation.
// With PERMUTED, output channel c is input channel perm[c] (RPTQ's reorder folded into the norm: g and b arrive
// already permuted, and the statistics do not depend on channel order).
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;        // [C]
@group(0) @binding(2) var<storage, read> b: array<f32>;        // [C]
@group(0) @binding(3) var<storage, read> perm: array<u32>;     // [C] (ignored unless PERMUTED)
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(5) var<uniform> p: Params;

override PERMUTED: bool = false;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += x[base + c]; }
  let mean = s / f32(p.C);
  var v = 0.0;
  for (var c = 0u; c < p.C; c++) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(v / f32(p.C) + p.eps);
  for (var c = 0u; c < p.C; c++) {
    var src = c;
    if (PERMUTED) { src = perm[c]; }
    y[base + c] = (x[base + src] - mean) * rstd * g[c] + b[c];
  }
}
