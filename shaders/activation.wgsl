// Elementwise activations of the MLP. relu/gelu run in place on y; siluMul writes y = silu(gate) · up (LLaMA).
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;

fn flatIndex(gid: vec3u, nwg: vec3u) -> u32 { return gid.x + gid.y * nwg.x * 256u; }

@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < p.n) { y[i] = max(y[i], 0.0); }
}

// erf by Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7): WGSL has no erf, and HF's "gelu" is the exact erf form.
fn erf(x: f32) -> f32 {
  let a = abs(x);
  let t = 1.0 / (1.0 + 0.3275911 * a);
  let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return sign(x) * (1.0 - poly * exp(-a * a));
}

@compute @workgroup_size(256)
fn gelu(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < p.n) { let v = y[i]; y[i] = 0.5 * v * (1.0 + erf(v * 0.70710678118654752)); }
}

@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> q: Params;

@compute @workgroup_size(256)
fn siluMul(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < q.n) { let g = gate[i]; out[i] = g / (1.0 + exp(-g)) * up[i]; }
}

// ---- gradients (the kernel table's `train` group), in place on the upstream gradient dy ----------------------------
// reluGrad: dy ← dy·(y > 0), a the forward's output. geluGrad: dy ← dy·gelu′(a), a the pre-activation,
// gelu′(x) = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π) with the erf above.
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> dy: array<f32>;
@group(0) @binding(2) var<uniform> pg: Params;

@compute @workgroup_size(256)
fn reluGrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < pg.n && !(a[i] > 0.0)) { dy[i] = 0.0; }
}

@compute @workgroup_size(256)
fn geluGrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < pg.n) {
    let v = a[i];
    dy[i] *= 0.5 * (1.0 + erf(v * 0.70710678118654752)) + v * exp(-0.5 * v * v) * 0.39894228040143268;
  }
}

// siluMulGrad, of out = silu(gate)·up: dGate = d·up·σ(g)·(1 + g·(1 − σ(g))), dUp = d·g·σ(g).
@group(0) @binding(0) var<storage, read> sGate: array<f32>;
@group(0) @binding(1) var<storage, read> sUp: array<f32>;
@group(0) @binding(2) var<storage, read> sD: array<f32>;
@group(0) @binding(3) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(5) var<uniform> ps: Params;

@compute @workgroup_size(256)
fn siluMulGrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = flatIndex(gid, nwg);
  if (i < ps.n) {
    let g = sGate[i];
    let sig = 1.0 / (1.0 + exp(-g));
    dGate[i] = sD[i] * sUp[i] * sig * (1.0 + g * (1.0 - sig));
    dUp[i] = sD[i] * g * sig;
  }
}
