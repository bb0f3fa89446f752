// GPTQ's lazy batch update after a block: W[:, i2:] −= Err · U[i1:i2, i2:]. Each thread updates 4 columns of one
// row, reading that row's block errors once per k.
struct Params { R: u32, K: u32, i1: u32, count: u32 }

@group(0) @binding(0) var<storage, read> U: array<f32>;         // [K, K]
@group(0) @binding(1) var<storage, read> Err: array<f32>;       // [R, BLOCK]
@group(0) @binding(2) var<storage, read_write> W: array<f32>;   // [R, K]
@group(0) @binding(3) var<uniform> p: Params;

const BLOCK: u32 = 128u; // columns per GPTQ block: Err's row stride, as gptqBlock.wgsl writes it

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.y;
  let i2 = p.i1 + p.count;
  let c0 = i2 + gid.x * 4u;
  if (r >= p.R || c0 >= p.K) { return; }
  var acc = vec4f(0.0);
  let last = p.K - 1u;
  let cs = vec4u(c0, min(c0 + 1u, last), min(c0 + 2u, last), min(c0 + 3u, last));
  for (var k = 0u; k < p.count; k++) {
    let e = Err[r * BLOCK + k];
    let urow = (p.i1 + k) * p.K;
    acc += e * vec4f(U[urow + cs.x], U[urow + cs.y], U[urow + cs.z], U[urow + cs.w]);
  }
  for (var j = 0u; j < 4u; j++) {
    let c = c0 + j;
    if (c >= p.K) { break; }
    W[r * p.K + c] -= acc[j];
  }
}
