// Gradients of a linear layer y = x·Wᵀ (matmul.wgsl), f32 only, for learnable weight clipping trained block by block:
//   gradX: dX[t, k] = Σ_n dY[t, n] · W[n, k]   (dY [T, N], W [N, K])
//   gradW: dW[n, k] = Σ_t dY[t, n] · X[t, k]   (dY [T, N], X [T, K])
// One thread per output element, columns in x and rows in y, no workgroup memory and no barriers: the backward pass
// of one block over a calibration batch is small, and software adapters pay heavily for barriers.
struct Params { T: u32, N: u32, K: u32 }

@group(0) @binding(0) var<storage, read> dY: array<f32>;       // [T, N]
@group(0) @binding(1) var<storage, read> W: array<f32>;        // [N, K] (gradX) or X [T, K] (gradW)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // dX [T, K] or dW [N, K]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(16, 16)
fn gradX(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.x;
  let t = gid.y;
  if (k >= p.K || t >= p.T) { return; }
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) { acc += dY[t * p.N + n] * W[n * p.K + k]; }
  out[t * p.K + k] = acc;
}

@compute @workgroup_size(16, 16)
fn gradW(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.x;
  let n = gid.y;
  if (k >= p.K || n >= p.N) { return; }
  var acc = 0.0;
  for (var t = 0u; t < p.T; t++) { acc += dY[t * p.N + n] * W[t * p.K + k]; }
  out[n * p.K + k] = acc;
}
