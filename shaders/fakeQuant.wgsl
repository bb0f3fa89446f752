// The uniform quantizer of shared/docs/methods.md, per (row, group) of a weight matrix W[R, K]:
//   quantParams: scale/zero of each group from its min and max (asymmetric, or symmetric with zero = (maxq+1)/2);
//   fakeQuant:   Ŵ = scale · (clamp(round(W / scale) + zero, 0, maxq) − zero)   (round = half to even, as torch).
// params[r, g] = (scale, zero); colGroup[c] names the group of column c, so act-order and static groups are just
// a different column → group map.
struct Params { R: u32, K: u32, groupsize: u32, firstGroup: u32, numGroups: u32, totalGroups: u32, maxq: f32, sym: u32 }

@group(0) @binding(0) var<storage, read> W: array<f32>;             // [R, K]
@group(0) @binding(1) var<storage, read_write> params: array<vec2f>; // [R, totalGroups]
@group(0) @binding(2) var<uniform> p: Params;

/** scale and zero of a group whose values span [xmin, xmax] */
fn fitRange(xminIn: f32, xmaxIn: f32, maxq: f32, sym: bool) -> vec2f {
  var xmin = min(xminIn, 0.0);
  var xmax = max(xmaxIn, 0.0);
  if (sym) {
    xmax = max(abs(xmin), xmax);
    if (xmin < 0.0) { xmin = -xmax; }
  }
  if (xmin == 0.0 && xmax == 0.0) { xmin = -1.0; xmax = 1.0; }
  let scale = (xmax - xmin) / maxq;
  var zero = round(-xmin / scale);
  if (sym) { zero = (maxq + 1.0) / 2.0; }
  return vec2f(scale, zero);
}

@compute @workgroup_size(64)
fn quantParams(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.R * p.numGroups) { return; }
  let r = n / p.numGroups;
  let g = p.firstGroup + n % p.numGroups;
  let c0 = g * p.groupsize;
  let c1 = min(c0 + p.groupsize, p.K);
  var lo = 3.4e38;
  var hi = -3.4e38;
  for (var c = c0; c < c1; c++) {
    let v = W[r * p.K + c];
    lo = min(lo, v);
    hi = max(hi, v);
  }
  params[r * p.totalGroups + g] = fitRange(lo, hi, p.maxq, p.sym != 0u);
}

@group(0) @binding(0) var<storage, read> Wq: array<f32>;           // [R, K]
@group(0) @binding(1) var<storage, read> qparams: array<vec2f>;    // [R, totalGroups]
@group(0) @binding(2) var<storage, read> colGroup: array<u32>;     // [K]
@group(0) @binding(3) var<storage, read_write> Q: array<f32>;      // [R, K]
@group(0) @binding(4) var<uniform> q: Params;

@compute @workgroup_size(64)
fn fakeQuant(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= q.R * q.K) { return; }
  let r = i / q.K;
  let sz = qparams[r * q.totalGroups + colGroup[i % q.K]];
  let level = clamp(round(Wq[i] / sz.x) + sz.y, 0.0, q.maxq);
  Q[i] = sz.x * (level - sz.y);
}
