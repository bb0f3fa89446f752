// One torch.optim.AdamW step in place on p, m, v (the twin, backward.reference.ts, says the formula). The host forms
// the step's scalars in double as torch does (decay = 1 − lr·wd, stepSize = lr / (1 − β1^step),
// bc2Sqrt = √(1 − β2^step), 1 − β1, 1 − β2); the kernel applies them in torch's order, one thread per element.
struct Params {
  n: u32,
  decay: f32,
  beta1: f32,
  beta2: f32,
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  stepSize: f32,
  bc2Sqrt: f32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> u: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= u.n) { return; }
  let gi = g[i];
  let pi = p[i] * u.decay;
  // torch's lerp(m, g, 1 − β1)
  var mi: f32;
  if (u.oneMinusBeta1 < 0.5) { mi = m[i] + u.oneMinusBeta1 * (gi - m[i]); } else { mi = gi - (gi - m[i]) * u.beta1; }
  let vi = v[i] * u.beta2 + u.oneMinusBeta2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - u.stepSize * (mi / (sqrt(vi) / u.bc2Sqrt + u.eps));
}
