// Causal multi-head attention with grouped-query heads, softmax fused:
//   o[t, h, :] = Σ_{j ≤ t} p_j · v[j, g, :],   p = softmax_j(q[t,h]·k[j,g] · scale),   g = h / (H / HKV).
// One workgroup per (64 queries, head): each thread owns one query and K/V rows are staged through workgroup memory
// in tiles of BK keys, so no [H, T, T] scores buffer exists.
// PROB_LEVELS = 0: one sweep with a running max/sum that rescales the accumulator (flash-attention style).
// PROB_LEVELS = L > 0 (RPTQ's quantized attention probabilities, round(p·L)/L): p must be final before it is rounded,
// so a first sweep over the keys finds the row's max and sum and a second sweep accumulates the rounded p.
// Two entry points: `main` stages K/V tiles in workgroup memory (GPUs); `direct` has no barriers (software adapters).
struct Params { T: u32, H: u32, HKV: u32, D: u32, scale: f32 }

@group(0) @binding(0) var<storage, read> q: array<f32>;        // [T, H·D]
@group(0) @binding(1) var<storage, read> k: array<f32>;        // [T, HKV·D]
@group(0) @binding(2) var<storage, read> v: array<f32>;        // [T, HKV·D]
@group(0) @binding(3) var<storage, read_write> o: array<f32>;  // [T, H·D]
@group(0) @binding(4) var<uniform> p: Params;

const BQ: u32 = 64u;     // queries per workgroup (= workgroup size)
const MAX_D: u32 = 256u; // largest head dimension
override BK: u32 = 16u;  // keys per tile; the host sets BK·D ≤ 1024 so K and V tiles take ≤ 8 KiB
override TILE: u32 = 1024u; // BK · D
override PROB_LEVELS: f32 = 0.0;

var<workgroup> Ks: array<f32, TILE>;
var<workgroup> Vs: array<f32, TILE>;

/** One online-softmax step: folds score s into the running (max m, sum l).
 *  Returns (new max, new sum, the factor that rescales what was accumulated, the weight of s). */
fn softmaxStep(m: f32, l: f32, s: f32) -> vec4f {
  let mNew = max(m, s);
  let corr = exp(m - mNew);
  let w = exp(s - mNew);
  return vec4f(mNew, l * corr + w, corr, w);
}

/** Stages keys [j0, j0 + BK) of KV head g (and their values when withV) into workgroup memory. */
fn loadTile(j0: u32, g: u32, li: u32, withV: bool) {
  for (var e = li; e < BK * p.D; e += BQ) {
    let j = j0 + e / p.D;
    let c = e % p.D;
    var kv = 0.0;
    var vv = 0.0;
    if (j < p.T) {
      kv = k[j * p.HKV * p.D + g * p.D + c];
      if (withV) { vv = v[j * p.HKV * p.D + g * p.D + c]; }
    }
    Ks[e] = kv;
    Vs[e] = vv;
  }
}

@compute @workgroup_size(BQ)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wg.y;
  let g = h / (p.H / p.HKV);
  let t = wg.x * BQ + li;
  let live = t < p.T;
  let qb = t * p.H * p.D + h * p.D;
  var qv: array<f32, MAX_D>;
  var acc: array<f32, MAX_D>;
  if (live) { for (var c = 0u; c < p.D; c++) { qv[c] = q[qb + c] * p.scale; } }
  var m = -3.4e38;
  var l = 0.0;
  // keys up to the last query of this block
  let lastT = min(p.T, (wg.x + 1u) * BQ);
  // with quantized probabilities, sweep 0 finds the row's max and softmax denominator and sweep 1 accumulates
  let quantized = PROB_LEVELS > 0.0;
  for (var sweep = select(1u, 0u, quantized); sweep < 2u; sweep++) {
    for (var j0 = 0u; j0 < lastT; j0 += BK) {
      loadTile(j0, g, li, sweep == 1u);
      workgroupBarrier();
      if (live) {
        let jEnd = min(j0 + BK, t + 1u);
        for (var j = j0; j < jEnd; j++) {
          let kb = (j - j0) * p.D;
          var s = 0.0;
          for (var c = 0u; c < p.D; c++) { s += qv[c] * Ks[kb + c]; }
          if (sweep == 0u) {
            let st = softmaxStep(m, l, s);
            m = st.x;
            l = st.y;
          } else if (quantized) {
            let w = round(exp(s - m) / l * PROB_LEVELS) / PROB_LEVELS;
            for (var c = 0u; c < p.D; c++) { acc[c] += w * Vs[kb + c]; }
          } else {
            let st = softmaxStep(m, l, s);
            for (var c = 0u; c < p.D; c++) { acc[c] = acc[c] * st.z + st.w * Vs[kb + c]; }
            m = st.x;
            l = st.y;
          }
        }
      }
      workgroupBarrier();
    }
  }
  if (live) {
    let inv = select(1.0 / l, 1.0, quantized);
    for (var c = 0u; c < p.D; c++) { o[qb + c] = acc[c] * inv; }
  }
}

// Barrier-free variant for software adapters (where workgroup barriers run on fibers): one thread per (4 queries,
// head) reads each key and value row once from global memory as vec4 (D a multiple of 4) for its four queries.
@group(0) @binding(0) var<storage, read> q4: array<vec4f>;        // [T, H·D/4]
@group(0) @binding(1) var<storage, read> k4: array<vec4f>;        // [T, HKV·D/4]
@group(0) @binding(2) var<storage, read> v4: array<vec4f>;        // [T, HKV·D/4]
@group(0) @binding(3) var<storage, read_write> o4: array<vec4f>;  // [T, H·D/4]
@group(0) @binding(4) var<uniform> a: Params;

const MAX_D4: u32 = MAX_D / 4u;
override D4: u32 = 1u; // head dimension / 4, fixed per pipeline so the compiler sees constant loop bounds

@compute @workgroup_size(64)
fn direct(@builtin(global_invocation_id) gid: vec3u) {
  let t0 = gid.x * 4u;
  let h = gid.y;
  if (t0 >= a.T) { return; }
  let g = h / (a.H / a.HKV);
  let n = min(4u, a.T - t0);
  var qv: array<vec4f, MAX_D4 * 4u>;
  var acc: array<vec4f, MAX_D4 * 4u>;
  for (var i = 0u; i < 4u; i++) {
    let qb = ((min(t0 + i, a.T - 1u)) * a.H + h) * D4;
    for (var c = 0u; c < D4; c++) { qv[i * D4 + c] = q4[qb + c] * a.scale; }
  }
  let quantized = PROB_LEVELS > 0.0;
  var m = vec4f(-3.4e38);
  var l = vec4f(0.0);
  let last = t0 + n - 1u;
  for (var sweep = select(1u, 0u, quantized); sweep < 2u; sweep++) {
    for (var j = 0u; j <= last; j++) {
      let kb = (j * a.HKV + g) * D4;
      var s = vec4f(0.0);
      for (var c = 0u; c < D4; c++) {
        let kc = k4[kb + c];
        s += vec4f(dot(qv[c], kc), dot(qv[D4 + c], kc), dot(qv[2u * D4 + c], kc), dot(qv[3u * D4 + c], kc));
      }
      // causal: query t0 + i sees keys j ≤ t0 + i
      let live = vec4<bool>(j <= t0, j <= t0 + 1u, j <= t0 + 2u, j <= t0 + 3u);
      if (sweep == 0u) {
        let mNew = select(m, max(m, s), live);
        l = select(l, l * exp(m - mNew) + exp(s - mNew), live);
        m = mNew;
      } else if (quantized) {
        let w = select(vec4f(0.0), round(exp(s - m) / l * PROB_LEVELS) / PROB_LEVELS, live);
        for (var c = 0u; c < D4; c++) {
          let vc = v4[kb + c];
          acc[c] += w.x * vc;
          acc[D4 + c] += w.y * vc;
          acc[2u * D4 + c] += w.z * vc;
          acc[3u * D4 + c] += w.w * vc;
        }
      } else {
        let mNew = select(m, max(m, s), live);
        let corr = exp(m - mNew);
        let w = select(vec4f(0.0), exp(s - mNew), live);
        l = l * corr + w;
        m = mNew;
        for (var c = 0u; c < D4; c++) {
          let vc = v4[kb + c];
          acc[c] = acc[c] * corr.x + w.x * vc;
          acc[D4 + c] = acc[D4 + c] * corr.y + w.y * vc;
          acc[2u * D4 + c] = acc[2u * D4 + c] * corr.z + w.z * vc;
          acc[3u * D4 + c] = acc[3u * D4 + c] * corr.w + w.w * vc;
        }
      }
    }
  }
  let inv = select(1.0 / l, vec4f(1.0), quantized);
  for (var i = 0u; i < n; i++) {
    let ob = ((t0 + i) * a.H + h) * D4;
    for (var c = 0u; c < D4; c++) { o4[ob + c] = acc[i * D4 + c] * inv[i]; }
  }
}

// Packed token trees (zero-shot scoring: an item's context once, then each choice's continuation, several items per
// forward). Token t sees the keys of its context range [lay[t].x, lay[t].y), then its own segment [lay[t].z, t];
// lay[t].w is its position (rope.wgsl). A query meets its keys in the order of the unpacked sequence, so its output
// does not depend on what else was packed with it. One thread per (query, head), keys read from global memory; the
// layout takes binding 4 and the parameters move to 5 (the host binds uniforms after the buffers).
@group(0) @binding(4) var<storage, read> lay: array<vec4u>;    // [T]
@group(0) @binding(5) var<uniform> pk: Params;

@compute @workgroup_size(64)
fn packed(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  let h = gid.y;
  if (t >= pk.T) { return; }
  let g = h / (pk.H / pk.HKV);
  let qb = (t * pk.H + h) * pk.D;
  var qv: array<f32, MAX_D>;
  var acc: array<f32, MAX_D>;
  for (var c = 0u; c < pk.D; c++) { qv[c] = q[qb + c] * pk.scale; }
  let L = lay[t];
  let quantized = PROB_LEVELS > 0.0;
  var m = -3.4e38;
  var l = 0.0;
  for (var sweep = select(1u, 0u, quantized); sweep < 2u; sweep++) {
    for (var part = 0u; part < 2u; part++) {
      let j0 = select(L.z, L.x, part == 0u);
      let j1 = select(t + 1u, L.y, part == 0u);
      for (var j = j0; j < j1; j++) {
        let kb = (j * pk.HKV + g) * pk.D;
        var s = 0.0;
        for (var c = 0u; c < pk.D; c++) { s += qv[c] * k[kb + c]; }
        if (sweep == 0u) {
          let st = softmaxStep(m, l, s);
          m = st.x;
          l = st.y;
        } else if (quantized) {
          let w = round(exp(s - m) / l * PROB_LEVELS) / PROB_LEVELS;
          for (var c = 0u; c < pk.D; c++) { acc[c] += w * v[kb + c]; }
        } else {
          let st = softmaxStep(m, l, s);
          for (var c = 0u; c < pk.D; c++) { acc[c] = acc[c] * st.z + st.w * v[kb + c]; }
          m = st.x;
          l = st.y;
        }
      }
    }
  }
  let inv = select(1.0 / l, 1.0, quantized);
  for (var c = 0u; c < pk.D; c++) { o[qb + c] = acc[c] * inv; }
}
