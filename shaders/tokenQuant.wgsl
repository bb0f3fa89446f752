// Per-token dynamic asymmetric fake-quantization (DuQuant's activations), in place on x viewed as [rows, G]: each row
// (a token, or a token's head for per-(token, head) Q/K/V) gets its own grid from its own min and max, clipped by lac:
//   lo = lac·min, hi = lac·max, scale = clamp((hi − lo) / maxq, 1e-5, 1e4), zero = round(−lo / scale),
//   x ← scale · (clamp(round(x / scale) + zero, 0, maxq) − zero)      (not widened to include 0; round half to even)
// One thread per row: no barriers (software adapters run them on fibers) and no scratch buffer.
struct Params { rows: u32, G: u32, maxq: f32, lac: f32 }

@group(0) @binding(0) var<storage, read_write> x: array<f32>;  // [rows, G]
@group(0) @binding(1) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let r = gid.x + gid.y * nwg.x * 64u;
  if (r >= p.rows) { return; }
  let base = r * p.G;
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var c = 0u; c < p.G; c++) {
    lo = min(lo, x[base + c]);
    hi = max(hi, x[base + c]);
  }
  lo = lo * p.lac;
  hi = hi * p.lac;
  let scale = clamp((hi - lo) / p.maxq, 1e-5, 1e4);
  let zero = round(-lo / scale);
  for (var c = 0u; c < p.G; c++) {
    let level = clamp(round(x[base + c] / scale) + zero, 0.0, p.maxq);
    x[base + c] = scale * (level - zero);
  }
}
