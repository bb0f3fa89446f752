// Rotary position embedding in place, Hugging Face rotate_half layout: within each head the pair is (i, i + D/2).
// cos/sin come as host-built tables [positions, D/2]: WGSL's cos/sin are only accurate on [−π, π], and building
// the tables on the host also lets every rope_scaling variant (default, linear, llama3) share this kernel.
struct Params { T: u32, H: u32, D: u32, pos0: u32 }

@group(0) @binding(0) var<storage, read> cosT: array<f32>;     // [P, D/2]
@group(0) @binding(1) var<storage, read> sinT: array<f32>;     // [P, D/2]
@group(0) @binding(2) var<storage, read_write> x: array<f32>;  // [T, H·D]
@group(0) @binding(3) var<uniform> p: Params;

/** rotates the pair (i, i + D/2) of the head starting at x[base] by position pos's angle */
fn rotatePair(base: u32, i: u32, hD: u32, pos: u32) {
  let c = cosT[pos * hD + i];
  let s = sinT[pos * hD + i];
  let x1 = x[base + i];
  let x2 = x[base + i + hD];
  x[base + i] = x1 * c - x2 * s;
  x[base + i + hD] = x2 * c + x1 * s;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let hD = p.D / 2u;
  let n = gid.x + gid.y * nwg.x * 256u;
  if (n >= p.T * p.H * hD) { return; }
  let i = n % hD;
  let h = (n / hD) % p.H;
  let t = n / (hD * p.H);
  rotatePair(t * p.H * p.D + h * p.D, i, hD, p.pos0 + t);
}

// Packed token trees (attention.wgsl, `packed`): each token's position is lay[t].w, not pos0 + t.
@group(0) @binding(3) var<storage, read> lay: array<vec4u>;    // [T]
@group(0) @binding(4) var<uniform> pk: Params;

@compute @workgroup_size(256)
fn packed(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let hD = pk.D / 2u;
  let n = gid.x + gid.y * nwg.x * 256u;
  if (n >= pk.T * pk.H * hD) { return; }
  let i = n % hD;
  let h = (n / hD) % pk.H;
  let t = n / (hD * pk.H);
  rotatePair(t * pk.H * pk.D + h * pk.D, i, hD, lay[t].w);
}

// The adjoint of `main` at positions 0..T−1 (pos0 = 0), in place on the gradient: each pair rotated by −θ.
@compute @workgroup_size(256)
fn grad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let hD = p.D / 2u;
  let n = gid.x + gid.y * nwg.x * 256u;
  if (n >= p.T * p.H * hD) { return; }
  let i = n % hD;
  let h = (n / hD) % p.H;
  let t = n / (hD * p.H);
  let pos = p.pos0 + t;
  let base = t * p.H * p.D + h * p.D;
  let c = cosT[pos * hD + i];
  let s = sinT[pos * hD + i];
  let y1 = x[base + i];
  let y2 = x[base + i + hD];
  x[base + i] = y1 * c + y2 * s;
  x[base + i + hD] = y2 * c - y1 * s;
}
