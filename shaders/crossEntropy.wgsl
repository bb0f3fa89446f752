// nll[t] = logsumexp(logits[t, :]) − logits[t, target[t]]: log-softmax and NLL of the next token, one thread per
// row. The row max is subtracted before exp, so large logits cannot overflow.
struct Params { T: u32, V: u32 }

@group(0) @binding(0) var<storage, read> logits: array<f32>;    // [T, V]
@group(0) @binding(1) var<storage, read> targets: array<u32>;   // [T]
@group(0) @binding(2) var<storage, read_write> nll: array<f32>; // [T]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.V;
  var m = -3.4e38;
  for (var c = 0u; c < p.V; c++) { m = max(m, logits[base + c]); }
  var z = 0.0;
  for (var c = 0u; c < p.V; c++) { z += exp(logits[base + c] - m); }
  nll[t] = log(z) + m - logits[base + targets[t]];
}
