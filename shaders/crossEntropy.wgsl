// nll[t] = logsumexp(logits[t, :]) − logits[t, target[t]]: log-softmax and NLL of the next token, one workgroup per
// row. The max is subtracted before exp so large logits cannot overflow.
struct Params { T: u32, V: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;    // [T, V]
@group(0) @binding(1) var<storage, read> targets: array<u32>;   // [T]
@group(0) @binding(2) var<storage, read_write> nll: array<f32>; // [T]
@group(0) @binding(3) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let base = wg.x * p.V;
  var m = -3.4e38;
  for (var c = li; c < p.V; c += 256u) { m = max(m, logits[base + c]); }
  red[li] = m;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = max(red[li], red[li + s]); }
    workgroupBarrier();
  }
  m = red[0];
  workgroupBarrier();
  var z = 0.0;
  for (var c = li; c < p.V; c += 256u) { z += exp(logits[base + c] - m); }
  red[li] = z;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] += red[li + s]; }
    workgroupBarrier();
  }
  if (li == 0u) { nll[wg.x] = log(red[0]) + m - logits[base + targets[wg.x]]; }
}
