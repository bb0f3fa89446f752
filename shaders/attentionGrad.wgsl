// Gradients of causal grouped-query attention (attention.wgsl with PROB_LEVELS = 0, no layout), softmax recomputed:
//   s_j = scale·q·k_j (j ≤ t),  p = softmax(s),  o = Σ_j p_j·v_j,  Δ = dO·o,  ds_j = p_j·(dO·v_j − Δ)
//   dq = scale·Σ_j ds_j·k_j,    dk_j = scale·Σ_{t ≥ j, h} ds_j·q_{t,h},    dv_j = Σ_{t ≥ j, h} p_j·dO_{t,h}
// (query head h reads KV head g = h / (H / HKV); dk and dv sum over the queries and the heads of g's group).
// Two entry points, no float atomics and no barriers:
//   dq:  one thread per (query, head): an online-softmax sweep gives (lse, Δ), stored in stats [T·H]; a second sweep
//        over the keys accumulates dq.
//   dkv: one thread per (key, KV head): sweeps its group's heads and the queries t ≥ j, p from stats.
struct Params { T: u32, H: u32, HKV: u32, D: u32, scale: f32 }

const MAX_D: u32 = 256u; // largest head dimension (private arrays)

@group(0) @binding(0) var<storage, read> q: array<f32>;   // [T, H·D]
@group(0) @binding(1) var<storage, read> k: array<f32>;   // [T, HKV·D]
@group(0) @binding(2) var<storage, read> v: array<f32>;   // [T, HKV·D]
@group(0) @binding(3) var<storage, read> dO: array<f32>;  // [T, H·D]

@group(0) @binding(4) var<storage, read_write> dqOut: array<f32>;     // [T, H·D]
@group(0) @binding(5) var<storage, read_write> statsOut: array<vec2f>; // [T·H] (lse, Δ)
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(64)
fn dq(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  let h = gid.y;
  if (t >= p.T) { return; }
  let D = p.D;
  let g = h / (p.H / p.HKV);
  let qb = t * p.H * D + h * D;
  var qv: array<f32, MAX_D>;
  var dov: array<f32, MAX_D>;
  var acc: array<f32, MAX_D>;
  for (var c = 0u; c < D; c++) {
    qv[c] = q[qb + c] * p.scale;
    dov[c] = dO[qb + c];
    acc[c] = 0.0;
  }
  // sweep 1: running max and sum, o accumulated and rescaled (as attention.wgsl's `direct`)
  var m = -3.4e38;
  var l = 0.0;
  for (var j = 0u; j <= t; j++) {
    let kb = j * p.HKV * D + g * D;
    var s = 0.0;
    for (var c = 0u; c < D; c++) { s += qv[c] * k[kb + c]; }
    let mNew = max(m, s);
    let corr = exp(m - mNew);
    let w = exp(s - mNew);
    l = l * corr + w;
    m = mNew;
    for (var c = 0u; c < D; c++) { acc[c] = acc[c] * corr + w * v[kb + c]; }
  }
  var delta = 0.0;
  for (var c = 0u; c < D; c++) { delta += dov[c] * acc[c]; acc[c] = 0.0; }
  delta /= l;
  let lse = m + log(l);
  // sweep 2: dq = scale · Σ_j p_j (dO·v_j − Δ) k_j
  for (var j = 0u; j <= t; j++) {
    let kb = j * p.HKV * D + g * D;
    var s = 0.0;
    var dp = 0.0;
    for (var c = 0u; c < D; c++) {
      s += qv[c] * k[kb + c];
      dp += dov[c] * v[kb + c];
    }
    let ds = exp(s - lse) * (dp - delta);
    for (var c = 0u; c < D; c++) { acc[c] += ds * k[kb + c]; }
  }
  for (var c = 0u; c < D; c++) { dqOut[qb + c] = acc[c] * p.scale; }
  statsOut[t * p.H + h] = vec2f(lse, delta);
}

@group(0) @binding(4) var<storage, read> stats: array<vec2f>;   // [T·H] (lse, Δ) from dq
@group(0) @binding(5) var<storage, read_write> dk: array<f32>;  // [T, HKV·D]
@group(0) @binding(6) var<storage, read_write> dv: array<f32>;  // [T, HKV·D]
@group(0) @binding(7) var<uniform> pk: Params;

@compute @workgroup_size(64)
fn dkv(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let g = gid.y;
  if (j >= pk.T) { return; }
  let D = pk.D;
  let rep = pk.H / pk.HKV;
  let kb = j * pk.HKV * D + g * D;
  var kv: array<f32, MAX_D>;
  var vv: array<f32, MAX_D>;
  var dkA: array<f32, MAX_D>;
  var dvA: array<f32, MAX_D>;
  for (var c = 0u; c < D; c++) {
    kv[c] = k[kb + c] * pk.scale;
    vv[c] = v[kb + c];
    dkA[c] = 0.0;
    dvA[c] = 0.0;
  }
  for (var h = g * rep; h < (g + 1u) * rep; h++) {
    for (var t = j; t < pk.T; t++) {
      let qb = t * pk.H * D + h * D;
      let st = stats[t * pk.H + h];
      var s = 0.0;
      var dp = 0.0;
      for (var c = 0u; c < D; c++) {
        s += q[qb + c] * kv[c];
        dp += dO[qb + c] * vv[c];
      }
      let pj = exp(s - st.x);
      let ds = pj * (dp - st.y);
      for (var c = 0u; c < D; c++) {
        dkA[c] += ds * q[qb + c];
        dvA[c] += pj * dO[qb + c];
      }
    }
  }
  for (var c = 0u; c < D; c++) {
    dk[kb + c] = dkA[c] * pk.scale;
    dv[kb + c] = dvA[c];
  }
}
