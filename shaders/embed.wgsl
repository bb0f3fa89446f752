// y[t, :] = E[ids[t] − v0, :] for the ids in [v0, v1): token (or learned-position) embedding gather, and the rows
// picked from any [rows, C] tensor. A vocabulary larger than one binding comes in row chunks, each gathering its
// own ids into the same y (v0 = 0, v1 = V for a whole matrix). E_FORMAT as matmul.wgsl's W_FORMAT: 0 f32, 1 f16,
// 2 bf16 (two per u32).
struct Params { T: u32, C: u32, v0: u32, v1: u32 }

@group(0) @binding(0) var<storage, read> E: array<u32>;        // [v1 − v0, C] in E_FORMAT
@group(0) @binding(1) var<storage, read> ids: array<u32>;      // [T]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(3) var<uniform> p: Params;

override E_FORMAT: u32 = 0u;

// #include half16

fn element(i: u32) -> f32 {
  if (E_FORMAT == FORMAT_F32) { return bitcast<f32>(E[i]); }
  return unpackHalf(E[i >> 1u], (i & 1u) == 1u, E_FORMAT);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.C) { return; }
  let t = i / p.C;
  let c = i % p.C;
  let id = ids[t];
  if (id < p.v0 || id >= p.v1) { return; }
  y[i] = element((id - p.v0) * p.C + c);
}
