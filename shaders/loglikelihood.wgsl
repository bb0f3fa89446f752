// Zero-shot log-likelihoods without reading logits back. `tokenScores`: one workgroup per scored row turns its logits
// into (log p(target), 1 when the target is the argmax — the first index on ties, as torch's argmax); the max and the
// softmax sum reduce over threads in a fixed order. `requestSums`: one thread per request adds its rows in order and
// multiplies their greedy flags, so only [requests, 2] values come back to the host.
struct Params { N: u32, V: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;        // [N, V]
@group(0) @binding(1) var<storage, read> targets: array<u32>;       // [N]
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;  // [rows, 2]; these N rows start at row offset
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> maxs: array<f32, WG>;
var<workgroup> args: array<u32, WG>;
var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(64)
fn tokenScores(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r = wg.x + wg.y * nwg.x;
  let live = r < p.N;
  let base = r * p.V;
  var m = -3.4e38;
  var a = 0xffffffffu;
  if (live) {
    for (var c = li; c < p.V; c += WG) {
      let v = logits[base + c];
      if (v > m) { m = v; a = c; }
    }
  }
  maxs[li] = m;
  args[li] = a;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      let om = maxs[li + s];
      let oa = args[li + s];
      if (om > maxs[li] || (om == maxs[li] && oa < args[li])) { maxs[li] = om; args[li] = oa; }
    }
    workgroupBarrier();
  }
  let rowMax = maxs[0];
  var z = 0.0;
  if (live) {
    for (var c = li; c < p.V; c += WG) { z += exp(logits[base + c] - rowMax); }
  }
  sums[li] = z;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { sums[li] += sums[li + s]; }
    workgroupBarrier();
  }
  if (live && li == 0u) {
    let tg = targets[r];
    let o = (p.offset + r) * 2u;
    scores[o] = logits[base + tg] - rowMax - log(sums[0]);
    scores[o + 1u] = select(0.0, 1.0, args[0] == tg);
  }
}

struct SumParams { R: u32 }

@group(0) @binding(0) var<storage, read> rowScores: array<f32>;     // [rows, 2]
@group(0) @binding(1) var<storage, read> starts: array<u32>;        // [R + 1]: request r owns rows [starts[r], starts[r + 1])
@group(0) @binding(2) var<storage, read_write> out: array<f32>;     // [R, 2]: (Σ log p, all greedy)
@group(0) @binding(3) var<uniform> q: SumParams;

@compute @workgroup_size(64)
fn requestSums(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= q.R) { return; }
  var ll = 0.0;
  var greedy = 1.0;
  for (var i = starts[r]; i < starts[r + 1u]; i++) {
    ll += rowScores[2u * i];
    greedy *= rowScores[2u * i + 1u];
  }
  out[2u * r] = ll;
  out[2u * r + 1u] = greedy;
}
