// y[T, C] = E[ids[t], :] — token (or learned-position) embedding gather.
struct Params { T: u32, C: u32 }

@group(0) @binding(0) var<storage, read> E: array<f32>;        // [V, C]
@group(0) @binding(1) var<storage, read> ids: array<u32>;      // [T]
@group(0) @binding(2) var<storage, read_write> y: array<f32>;  // [T, C]
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.T * p.C) { return; }
  let t = i / p.C;
  let c = i % p.C;
  y[i] = E[ids[t] * p.C + c];
}
