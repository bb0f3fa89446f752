// f32 → 16-bit weight storage (f16 or bf16, two per u32: src/gpu/half.ts), round to nearest even, done with integer
// operations so the bits equal the host's conversion (half.ts, this kernel's twin) on every adapter: a quantized
// layer goes back to storage as the same bits whether it was packed here or restored from the cache on the host.
struct Params { n: u32, bf16: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [n]
@group(0) @binding(1) var<storage, read_write> out: array<u32>; // [ceil(n / 2)]
@group(0) @binding(2) var<uniform> p: Params;

fn toF16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  let sign = (x >> 16u) & 0x8000u;
  if ((x & 0x7fffffffu) > 0x7f800000u) { return sign | 0x7e00u; }
  let e = i32((x >> 23u) & 0xffu) - 127 + 15;
  var m = x & 0x7fffffu;
  if (e >= 31) { return sign | 0x7c00u; }
  if (e <= 0) {
    if (e < -10) { return sign; }
    m = m | 0x800000u;
    let shift = u32(14 - e);
    var h = m >> shift;
    let rem = m & ((1u << shift) - 1u);
    let mid = 1u << (shift - 1u);
    if (rem > mid || (rem == mid && (h & 1u) == 1u)) { h += 1u; }
    return sign | h;
  }
  var h = (u32(e) << 10u) | (m >> 13u);
  let rem = m & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1u) == 1u)) { h += 1u; }
  return sign | h;
}

fn toBf16(v: f32) -> u32 {
  let x = bitcast<u32>(v);
  if ((x & 0x7fffffffu) > 0x7f800000u) { return ((x >> 16u) | 0x40u) & 0xffffu; }
  return ((x + 0x7fffu + ((x >> 16u) & 1u)) >> 16u) & 0xffffu;
}

fn encode(v: f32) -> u32 {
  return select(toF16(v), toBf16(v), p.bf16 == 1u);
}

@compute @workgroup_size(256)
fn pack16(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let w = gid.x + gid.y * nwg.x * 256u;
  if (2u * w >= p.n) { return; }
  let lo = encode(x[2u * w]);
  let hi = select(0u, encode(x[2u * w + 1u]), 2u * w + 1u < p.n);
  out[w] = lo | (hi << 16u);
}
