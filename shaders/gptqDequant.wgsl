// One GPTQ-v1 linear layer (src/model/gptqPacking.ts) dequantized to the lab's f32 W [N, K] ([out, in]):
//   W[n, k] = scales[g, n] · (q[k, n] − z[g, n]),  g = g_idx[k],
// q[k, n]: bits [k·bits, k·bits + bits) of column n's bit stream down qweight's rows (word w at w·N + n), least
// significant first; z[g, n]: the code at bit n·bits of row g of qzeros, plus one, not masked (stored 2^bits − 1 is
// 2^bits). A 3-bit code may straddle two words: its low part in the high bits of word w, the rest in word w + 1.
// The product is exact in f32 (an f16 scale's 11 significant bits times an integer of at most 9), so the result is
// the twin's bit for bit. One invocation per output element; g_idx is checked on the host (checkGroupIndex).
// S_FORMAT as matmul.wgsl's W_FORMAT: 0 f32, 1 f16, 2 bf16 (two per u32).
struct Params { N: u32, K: u32, bits: u32 }

@group(0) @binding(0) var<storage, read> qweight: array<u32>;   // [K·bits/32, N]
@group(0) @binding(1) var<storage, read> qzeros: array<u32>;    // [G, N·bits/32]
@group(0) @binding(2) var<storage, read> scales: array<u32>;    // [G, N] in S_FORMAT
@group(0) @binding(3) var<storage, read> gIdx: array<u32>;      // [K]
@group(0) @binding(4) var<storage, read_write> W: array<f32>;   // [N, K]
@group(0) @binding(5) var<uniform> p: Params;

override S_FORMAT: u32 = 1u;

// #include half16
// #include codeStream

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= p.N * p.K) { return; }
  let n = i / p.K;
  let k = i % p.K;
  let g = gIdx[k];

  let qp = k * p.bits;
  let qw = qp >> 5u;
  let qs = qp & 31u;
  let qlo = qweight[qw * p.N + n];
  var qhi = 0u;
  if (qs + p.bits > 32u) { qhi = qweight[(qw + 1u) * p.N + n]; }
  let q = field(qlo, qhi, qs);

  let zrow = g * ((p.N * p.bits) >> 5u);
  let zp = n * p.bits;
  let zw = zrow + (zp >> 5u);
  let zs = zp & 31u;
  let zlo = qzeros[zw];
  var zhi = 0u;
  if (zs + p.bits > 32u) { zhi = qzeros[zw + 1u]; }
  let z = field(zlo, zhi, zs) + 1u;

  W[i] = scale(g * p.N + n) * (f32(q) - f32(z));
}
