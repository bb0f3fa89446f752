// GPTQ's factorization on the GPU, in f32 as the reference does it (torch.linalg.cholesky on CUDA):
// U = cholesky(H⁻¹, upper) by the identity U = P·L⁻¹·P with L = cholesky(P H P) (P the reversal; the host passes
// A = P H P, damped). Blocked, with b-column blocks (b ≤ 64), in place on A [n, n] (lower triangle):
//   potrf  one workgroup factors the diagonal block [k0, k0 + b);
//   trsm   one thread per row below it solves the panel, L_ik = A_ik · L_kk⁻ᵀ;
//   syrk   one thread per trailing lower-triangle element subtracts the panel's product, A_ij −= L_ik · L_jkᵀ.
// Then X = L⁻¹ by block rows (trinvGemm: the right-hand side from the rows already inverted; trinvSolve: forward
// substitution within the block, one thread per column), and `reverse` writes U = P X P (upper) over A.
// A pivot that is not positive (or NaN) sets flag to the smallest such column; the host says which.
struct Params { n: u32, k0: u32, b: u32 }

@group(0) @binding(0) var<storage, read_write> A: array<f32>;        // [n, n]
@group(0) @binding(1) var<storage, read_write> flag: atomic<u32>;    // potrf: first bad pivot (0xffffffff: none)
@group(0) @binding(2) var<uniform> pf: Params;                       // potrf, trinvGemm, trinvSolve, reverse
@group(0) @binding(1) var<uniform> pa: Params;                       // trsm, syrk
@group(0) @binding(1) var<storage, read_write> X: array<f32>;        // [n, n] L⁻¹ (trinv*); U (reverse: A → X)

@compute @workgroup_size(64)
fn potrf(@builtin(local_invocation_index) li: u32) {
  let n = pf.n;
  let k0 = pf.k0;
  let b = pf.b;
  for (var j = 0u; j < b; j++) {
    let jj = k0 + j;
    if (li == 0u) {
      var d = A[jj * n + jj];
      if (!(d > 0.0)) {
        atomicMin(&flag, jj);
        d = 1.0;
      }
      A[jj * n + jj] = sqrt(d);
    }
    storageBarrier();
    workgroupBarrier();
    let djj = A[jj * n + jj];
    let below = b - j - 1u;
    if (li < below) { A[(jj + 1u + li) * n + jj] /= djj; }
    storageBarrier();
    workgroupBarrier();
    for (var e = li; e < below * below; e += 64u) {
      let ii = jj + 1u + e / below;
      let ll = jj + 1u + e % below;
      if (ll <= ii) { A[ii * n + ll] -= A[ii * n + jj] * A[ll * n + jj]; }
    }
    storageBarrier();
    workgroupBarrier();
  }
}

@compute @workgroup_size(64)
fn trsm(@builtin(global_invocation_id) gid: vec3u) {
  let n = pa.n;
  let k0 = pa.k0;
  let b = pa.b;
  let i = k0 + b + gid.x;
  if (i >= n) { return; }
  for (var j = 0u; j < b; j++) {
    let jj = k0 + j;
    var s = A[i * n + jj];
    for (var m = 0u; m < j; m++) { s -= A[i * n + k0 + m] * A[jj * n + k0 + m]; }
    A[i * n + jj] = s / A[jj * n + jj];
  }
}

@compute @workgroup_size(16, 16)
fn syrk(@builtin(global_invocation_id) gid: vec3u) {
  let n = pa.n;
  let k0 = pa.k0;
  let b = pa.b;
  let j = k0 + b + gid.x;
  let i = k0 + b + gid.y;
  if (i >= n || j > i) { return; }
  var s = 0.0;
  for (var m = 0u; m < b; m++) { s += A[i * n + k0 + m] * A[j * n + k0 + m]; }
  A[i * n + j] -= s;
}

// rows [k0, k0 + b) of X, columns j < k0: −Σ_{j ≤ m < k0} L[i, m] · X[m, j] (X is lower triangular)
@compute @workgroup_size(16, 16)
fn trinvGemm(@builtin(global_invocation_id) gid: vec3u) {
  let n = pf.n;
  let k0 = pf.k0;
  let j = gid.x;
  let i = k0 + gid.y;
  if (j >= k0 || i >= k0 + pf.b) { return; }
  var s = 0.0;
  for (var m = j; m < k0; m++) { s -= A[i * n + m] * X[m * n + j]; }
  X[i * n + j] = s;
}

// column j of rows [k0, k0 + b): forward substitution with the diagonal block of L
@compute @workgroup_size(64)
fn trinvSolve(@builtin(global_invocation_id) gid: vec3u) {
  let n = pf.n;
  let k0 = pf.k0;
  let j = gid.x;
  if (j >= k0 + pf.b) { return; }
  for (var r = 0u; r < pf.b; r++) {
    let i = k0 + r;
    var s = select(select(0.0, 1.0, i == j), X[i * n + j], j < k0);
    if (j > i) {
      X[i * n + j] = 0.0;
      continue;
    }
    for (var m = max(k0, j); m < i; m++) { s -= A[i * n + m] * X[m * n + j]; }
    X[i * n + j] = s / A[i * n + i];
  }
}

// U[i, j] = X[n − 1 − i, n − 1 − j] for j ≥ i, else 0: the reversal of L⁻¹, written over A
@compute @workgroup_size(16, 16)
fn reverse(@builtin(global_invocation_id) gid: vec3u) {
  let n = pf.n;
  let j = gid.x;
  let i = gid.y;
  if (i >= n || j >= n) { return; }
  A[i * n + j] = select(0.0, X[(n - 1u - i) * n + (n - 1u - j)], j >= i);
}
