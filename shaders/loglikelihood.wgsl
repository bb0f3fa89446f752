// Next-token log-probabilities without the [T, V] logits ever existing at once, nor coming back to the host.
// `vocabChunk`: one workgroup per row folds a chunk of the vocabulary's logits (columns [v0, v0 + Vc)) into the
// row's running state (max m, Σ exp(l − m), the target's logit, the first argmax): the online log-sum-exp, so the
// lm_head can come in row chunks that each fit one binding. `finish`: (log p(target), target is the argmax) per row
// into scores. `requestSums`: one thread per request adds its rows in order (compensated) and multiplies their greedy flags, so
// only [requests, 2] values come back (zero-shot scoring). Reductions over threads run in a fixed order.
struct Params { N: u32, V: u32, v0: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;        // [N, Vc]: this chunk's columns
@group(0) @binding(1) var<storage, read> targets: array<u32>;       // [N]
@group(0) @binding(2) var<storage, read_write> state: array<f32>;   // [N, 4]: (m, s, target logit, argmax)
@group(0) @binding(3) var<uniform> p: Params;                       // V = Vc here

const WG: u32 = 64u;
var<workgroup> maxs: array<f32, WG>;
var<workgroup> args: array<u32, WG>;
var<workgroup> sums: array<f32, WG>;

@compute @workgroup_size(WG)
fn vocabChunk(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
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
  let chunkMax = maxs[0];
  var z = 0.0;
  if (live) {
    for (var c = li; c < p.V; c += WG) { z += exp(logits[base + c] - chunkMax); }
  }
  sums[li] = z;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { sums[li] += sums[li + s]; }
    workgroupBarrier();
  }
  if (live && li == 0u) {
    let o = r * 4u;
    let tg = targets[r];
    var tl = state[o + 2u];
    if (tg >= p.v0 && tg < p.v0 + p.V) { tl = logits[base + tg - p.v0]; }
    if (p.v0 == 0u) {
      state[o] = chunkMax;
      state[o + 1u] = sums[0];
      state[o + 3u] = f32(args[0]);
    } else {
      // a later chunk takes the argmax only when strictly larger: the first index wins ties, as torch's argmax
      let mOld = state[o];
      let mNew = max(mOld, chunkMax);
      state[o + 1u] = state[o + 1u] * exp(mOld - mNew) + sums[0] * exp(chunkMax - mNew);
      if (chunkMax > mOld) { state[o + 3u] = f32(p.v0 + args[0]); }
      state[o] = mNew;
    }
    state[o + 2u] = tl;
  }
}

struct FinishParams { N: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> rowState: array<f32>;      // [N, 4]
@group(0) @binding(1) var<storage, read> rowTargets: array<u32>;    // [N]
@group(0) @binding(2) var<storage, read_write> scores: array<f32>;  // [rows, 2]; these N rows start at row offset
@group(0) @binding(3) var<uniform> f: FinishParams;

@compute @workgroup_size(64)
fn finish(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= f.N) { return; }
  let o = r * 4u;
  let w = (f.offset + r) * 2u;
  scores[w] = rowState[o + 2u] - rowState[o] - log(rowState[o + 1u]);
  scores[w + 1u] = select(0.0, 1.0, u32(rowState[o + 3u]) == rowTargets[r]);
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
  // compensated (Kahan) sum: a long continuation's hundreds of log-probs keep the f64 reference's digits
  var ll = 0.0;
  var c = 0.0;
  var greedy = 1.0;
  for (var i = starts[r]; i < starts[r + 1u]; i++) {
    let y = rowScores[2u * i] - c;
    let t = ll + y;
    c = (t - ll) - y;
    ll = t;
    greedy *= rowScores[2u * i + 1u];
  }
  out[2u * r] = ll;
  out[2u * r + 1u] = greedy;
}
