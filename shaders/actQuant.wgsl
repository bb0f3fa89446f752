// Static activation fake-quantization, one (scale, zero) per channel cluster (RPTQ), in place on x [T, C]:
//   x ← scale_k · (clamp(round(x / scale_k) + zero_k, 0, maxq) − zero_k),  k = cluster[c].
// Per-tensor quantization is the one-cluster case.
struct Params { n: u32, C: u32, maxq: f32 }

@group(0) @binding(0) var<storage, read> cluster: array<u32>;      // [C]
@group(0) @binding(1) var<storage, read> params: array<vec2f>;     // [clusters] (scale, zero)
@group(0) @binding(2) var<storage, read_write> x: array<f32>;      // [T, C]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let sz = params[cluster[i % p.C]];
  let level = clamp(round(x[i] / sz.x) + sz.y, 0.0, p.maxq);
  x[i] = sz.x * (level - sz.y);
}
