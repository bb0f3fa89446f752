// f32 → 16-bit weight storage (f16 or bf16, two per u32: src/gpu/half.ts), round to nearest even, done with integer
// operations so the bits equal the host's conversion (half.ts, this kernel's twin) on every adapter: a quantized
// layer goes back to storage as the same bits whether it was packed here or restored from the cache on the host.
struct Params { n: u32, bf16: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;         // [n]
@group(0) @binding(1) var<storage, read_write> out: array<u32>; // [ceil(n / 2)]
@group(0) @binding(2) var<uniform> p: Params;

// #include half16

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
