// Block-diagonal rotation of activations (DuQuant's online transform), never a dense C × C matrix:
//   y[t, b·n + i] = Σ_j xin[t, b·n + j] · R[m, j, i],   m = b (one matrix per block) or 0 (one shared matrix),
//   xin[t, k] = x[t, perm[k]] when PERMUTED (the zigzag permutation, gathered on the way in), else x[t, k].
// One thread per output element, n multiply-adds each; the block's row of x is read from global memory (neighbouring
// threads read the same row, which the cache serves).
struct Params { T: u32, C: u32, n: u32, perBlock: u32 }

override PERMUTED: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;      // [T, C]
@group(0) @binding(1) var<storage, read> R: array<f32>;      // [blocks or 1, n, n]
@group(0) @binding(2) var<storage, read> perm: array<u32>;   // [C] (unused unless PERMUTED)
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [T, C]
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.T * p.C) { return; }
  let t = e / p.C;
  let c = e % p.C;
  let b = c / p.n;
  let i = c % p.n;
  let m = select(0u, b, p.perBlock != 0u);
  let rb = m * p.n * p.n;
  let xb = t * p.C + b * p.n;
  var acc = 0.0;
  for (var j = 0u; j < p.n; j++) {
    var v: f32;
    if (PERMUTED != 0u) { v = x[t * p.C + perm[b * p.n + j]]; } else { v = x[xb + j]; }
    acc += v * R[rb + j * p.n + i];
  }
  y[e] = acc;
}

// The adjoint (blockRotateGrad), on the same bindings: x holds dy, y receives dx.
//   dxin[t, b·n + j] = Σ_i dy[t, b·n + i] · R[m, j, i],   dx[t, perm[k]] = dxin[t, k] when PERMUTED (a scatter: perm
// is a permutation, so no two threads write one element), else dx = dxin. One thread per element of dxin.
@compute @workgroup_size(64)
fn grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.T * p.C) { return; }
  let t = e / p.C;
  let c = e % p.C;
  let b = c / p.n;
  let j = c % p.n;
  let m = select(0u, b, p.perBlock != 0u);
  let rj = m * p.n * p.n + j * p.n;
  let yb = t * p.C + b * p.n;
  var acc = 0.0;
  for (var i = 0u; i < p.n; i++) { acc += x[yb + i] * R[rj + i]; }
  if (PERMUTED != 0u) { y[t * p.C + perm[c]] = acc; } else { y[e] = acc; }
}
