// Input gradients of the norms (rmsNorm.wgsl, layerNorm.wgsl), per row of [T, C], one thread per row, no barriers:
//   rmsNormGrad:   y = x·rstd·g,              rstd = 1/√(mean(x²) + eps)
//                  dx = rstd·(g·dy − x·rstd²·Σ(g·dy·x)/C)
//   layerNormGrad: y = (x − mean)·rstd·g + b, rstd = 1/√(mean((x − mean)²) + eps), x̂ = (x − mean)·rstd
//                  dx = rstd·(g·dy − Σ(g·dy)/C − x̂·Σ(g·dy·x̂)/C)
// The statistics are recomputed as the forward kernels compute them (layerNorm: mean first, then the centred variance).
struct Params { T: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [T, C]
@group(0) @binding(1) var<storage, read> g: array<f32>;         // [C]
@group(0) @binding(2) var<storage, read> dy: array<f32>;        // [T, C]
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;  // [T, C]
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64)
fn rmsNormGrad(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.C;
  var ss = 0.0;
  var sdot = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let v = x[base + c];
    ss += v * v;
    sdot += g[c] * dy[base + c] * v;
  }
  let rstd = inverseSqrt(ss / f32(p.C) + p.eps);
  let k = rstd * rstd * sdot / f32(p.C);
  for (var c = 0u; c < p.C; c++) { dx[base + c] = rstd * (g[c] * dy[base + c] - x[base + c] * k); }
}

@compute @workgroup_size(64)
fn layerNormGrad(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  if (t >= p.T) { return; }
  let base = t * p.C;
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += x[base + c]; }
  let mean = s / f32(p.C);
  var v = 0.0;
  for (var c = 0u; c < p.C; c++) { let d = x[base + c] - mean; v += d * d; }
  let rstd = inverseSqrt(v / f32(p.C) + p.eps);
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let gd = g[c] * dy[base + c];
    s1 += gd;
    s2 += gd * (x[base + c] - mean) * rstd;
  }
  let m1 = s1 / f32(p.C);
  let m2 = s2 / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    let xhat = (x[base + c] - mean) * rstd;
    dx[base + c] = rstd * (g[c] * dy[base + c] - m1 - xhat * m2);
  }
}
