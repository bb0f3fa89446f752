// Lloyd's k-means steps for channel clustering (points are channels: [max, min] or [q_max, k_max, q_min, k_min]).
// Many independent problems run in one dispatch: the points come in segments of `seg` points (one attention head ×
// one restart), and segment s owns centroids [s·K, s·K + K). Labels are global centroid indices.
//   kmeansAssign: label[n] = argmin_j ‖P[n] − M[j]‖² over n's segment, dist[n] the squared distance (ties → lowest j).
//   kmeansUpdate: M[j] = mean of the points labelled j (an empty cluster keeps its centroid).
// D ≤ 4 dimensions, so a point is one vec4 (unused lanes are 0).
struct Params { N: u32, K: u32, seg: u32 }

@group(0) @binding(0) var<storage, read> P: array<vec4f>;         // [N]
@group(0) @binding(1) var<storage, read> M: array<vec4f>;         // [N / seg · K]
@group(0) @binding(2) var<storage, read_write> label: array<u32>; // [N]
@group(0) @binding(3) var<storage, read_write> dist: array<f32>;  // [N]
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn kmeansAssign(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= p.N) { return; }
  let j0 = (n / p.seg) * p.K;
  var best = j0;
  var bestD = 3.4e38;
  for (var j = j0; j < j0 + p.K; j++) {
    let d = P[n] - M[j];
    let dd = dot(d, d);
    if (dd < bestD) { bestD = dd; best = j; }
  }
  label[n] = best;
  dist[n] = bestD;
}

@group(0) @binding(0) var<storage, read> Pu: array<vec4f>;           // [N]
@group(0) @binding(1) var<storage, read> labels: array<u32>;         // [N]
@group(0) @binding(2) var<storage, read_write> Mu: array<vec4f>;     // [N / seg · K]
@group(0) @binding(3) var<uniform> q: Params;

@compute @workgroup_size(64)
fn kmeansUpdate(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  if (j >= (q.N / q.seg) * q.K) { return; }
  let n0 = (j / q.K) * q.seg;
  var s = vec4f(0.0);
  var count = 0u;
  for (var n = n0; n < n0 + q.seg; n++) {
    if (labels[n] == j) { s += Pu[n]; count++; }
  }
  if (count > 0u) { Mu[j] = s / f32(count); }
}
