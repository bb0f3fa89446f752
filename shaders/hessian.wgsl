// GPTQ's Hessian accumulation with its running rescale, one batch at a time:
//   H[K, K] ← alpha · H + beta · XᵀX,   X = [T, K] calibration inputs of one linear layer.
// The host passes alpha = n / (n + T) and beta = 2 / (n + T), so H stays the mean of 2·xxᵀ over all tokens.
// Each thread owns a 4×4 block of H and streams over the tokens: no barriers.
struct Params { T: u32, K: u32, alpha: f32, beta: f32 }

@group(0) @binding(0) var<storage, read> X: array<f32>;        // [T, K]
@group(0) @binding(1) var<storage, read_write> H: array<f32>;  // [K, K]
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i0 = gid.y * 4u;
  let j0 = gid.x * 4u;
  if (i0 >= p.K || j0 >= p.K) { return; }
  let last = p.K - 1u;
  let ri = vec4u(min(i0, last), min(i0 + 1u, last), min(i0 + 2u, last), min(i0 + 3u, last));
  let cj = vec4u(min(j0, last), min(j0 + 1u, last), min(j0 + 2u, last), min(j0 + 3u, last));
  var acc: array<vec4f, 4>;
  for (var t = 0u; t < p.T; t++) {
    let row = t * p.K;
    let xj = vec4f(X[row + cj.x], X[row + cj.y], X[row + cj.z], X[row + cj.w]);
    acc[0] += X[row + ri.x] * xj;
    acc[1] += X[row + ri.y] * xj;
    acc[2] += X[row + ri.z] * xj;
    acc[3] += X[row + ri.w] * xj;
  }
  for (var a = 0u; a < 4u; a++) {
    let i = i0 + a;
    if (i >= p.K) { break; }
    for (var b = 0u; b < 4u; b++) {
      let j = j0 + b;
      if (j >= p.K) { break; }
      H[i * p.K + j] = p.alpha * H[i * p.K + j] + p.beta * acc[a][b];
    }
  }
}
