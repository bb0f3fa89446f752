// Per-channel running min and max over every calibration token (RPTQ's statistics, and absmax for later methods):
//   range[c] = (min(range[c].x, min_t X[t, c]), max(range[c].y, max_t X[t, c])).
// One thread per channel streaming over the tokens (neighbouring threads read neighbouring addresses); calling it once
// per window reduces across windows on the GPU.
struct Params { T: u32, C: u32 }

@group(0) @binding(0) var<storage, read> X: array<f32>;             // [T, C]
@group(0) @binding(1) var<storage, read_write> range: array<vec2f>; // [C] (min, max)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var r = range[c];
  for (var t = 0u; t < p.T; t++) {
    let v = X[t * p.C + c];
    r = vec2f(min(r.x, v), max(r.y, v));
  }
  range[c] = r;
}
