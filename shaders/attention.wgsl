// Causal multi-head attention with grouped-query heads, softmax fused:
//   o[t, h, :] = Σ_{j ≤ t} softmax_j(q[t,h]·k[j,g] · scale) · v[j, g, :],   g = h / (H / HKV).
// One workgroup per (query t, head h). The row of scores lives in workgroup memory (MAX_T ≥ T, an override set
// from the host), so no [H, T, T] buffer is ever allocated.
struct Params { T: u32, H: u32, HKV: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;        // [T, H·D]
@group(0) @binding(1) var<storage, read> k: array<f32>;        // [T, HKV·D]
@group(0) @binding(2) var<storage, read> v: array<f32>;        // [T, HKV·D]
@group(0) @binding(3) var<storage, read_write> o: array<f32>;  // [T, H·D]
@group(0) @binding(4) var<uniform> p: Params;

override MAX_T: u32 = 512u;
const WG: u32 = 64u;

var<workgroup> s: array<f32, MAX_T>;
var<workgroup> red: array<f32, WG>;

fn reduce(li: u32, val: f32, isMax: bool) -> f32 {
  red[li] = val;
  workgroupBarrier();
  for (var st = WG / 2u; st > 0u; st >>= 1u) {
    if (li < st) {
      if (isMax) { red[li] = max(red[li], red[li + st]); } else { red[li] += red[li + st]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let t = wg.x;
  let h = wg.y;
  let g = h / (p.H / p.HKV);
  let n = t + 1u;
  let qb = t * p.H * p.D + h * p.D;
  var m = -3.4e38;
  for (var j = li; j < n; j += WG) {
    let kb = j * p.HKV * p.D + g * p.D;
    var d = 0.0;
    for (var c = 0u; c < p.D; c++) { d += q[qb + c] * k[kb + c]; }
    d *= p.scale;
    s[j] = d;
    m = max(m, d);
  }
  m = reduce(li, m, true);
  var l = 0.0;
  for (var j = li; j < n; j += WG) {
    let e = exp(s[j] - m);
    s[j] = e;
    l += e;
  }
  l = reduce(li, l, false);
  let inv = 1.0 / l;
  // Each thread owns output dims c; the scores are shared.
  for (var c = li; c < p.D; c += WG) {
    var acc = 0.0;
    for (var j = 0u; j < n; j++) { acc += s[j] * v[j * p.HKV * p.D + g * p.D + c]; }
    o[qb + c] = acc * inv;
  }
}
