// y[T, C] = (x − mean) / sqrt(var + eps) · g + b, per row. One workgroup per row; mean first, then the
// centred variance (two passes: no cancellation for rows with a large mean).
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;        // [C]
@group(0) @binding(2) var<storage, read> b: array<f32>;        // [C]
@group(0) @binding(3) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

fn reduceSum(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = wg.x * p.C;
  var s = 0.0;
  for (var c = li; c < p.C; c += 256u) { s += x[base + c]; }
  let mean = reduceSum(li, s) / f32(p.C);
  var v = 0.0;
  for (var c = li; c < p.C; c += 256u) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(reduceSum(li, v) / f32(p.C) + p.eps);
  for (var c = li; c < p.C; c += 256u) { y[base + c] = (x[base + c] - mean) * rstd * g[c] + b[c]; }
}
