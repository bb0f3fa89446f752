// Counts NaN/Inf values (exponent bits all ones) so a forward pass can name the first layer that overflowed.
// Bit test rather than x != x, which compilers may fold away.
struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> count: array<atomic<u32>>;  // [1]
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < p.n && (bitcast<u32>(x[i]) & 0x7f800000u) == 0x7f800000u) { atomicAdd(&count[0], 1u); }
}
