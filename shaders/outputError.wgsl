// Per-row sums for a layer's relative output error: err[t] = (Σ_n (yq − y)², Σ_n y²). Reading back two numbers
// per token instead of two whole outputs keeps the per-layer error report cheap.
struct Params { T: u32, N: u32 }

@group(0) @binding(0) var<storage, read> yq: array<f32>;         // [T, N] quantized layer output
@group(0) @binding(1) var<storage, read> y: array<f32>;          // [T, N] full-precision output
@group(0) @binding(2) var<storage, read_write> err: array<vec2f>; // [T]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  var d = 0.0;
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let a = yq[t * p.N + n];
    let b = y[t * p.N + n];
    d += (a - b) * (a - b);
    s += b * b;
  }
  err[t] = vec2f(d, s);
}
