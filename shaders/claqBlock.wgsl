// CLAQ's column loop over one block of columns [i1, i1 + count) (Wang et al. 2024): GPTQ's loop, where each column's
// quantizer is a codebook fitted by 1-D k-means on the column as the feedback left it. One workgroup does the block:
// a column's rows are the points, in contiguous chunks, one per thread; every sum runs over a chunk in row order and
// then over the threads in order, so the twin (reference.ts) reproduces each one. Per column c, in order:
//   w = W[:, c] − Σ_{j < c in the block} Err[:, j]·U[j, c]        (the intra-block updates, in GPTQ's order)
//   codebook: k-means++ seeding (2 + ⌊ln k⌋ candidates per centroid, every column drawing the same seeded stream as
//     the reference's fixed random_state), then Lloyd until the labels repeat, the squared centroid shift falls to
//     1e-4·var(w), or maxIter steps; an empty cluster keeps its centroid
//   reserved outliers: w ≥ the value at descending rank hiRank, or w ≤ the one at rank loRank (order statistics found
//     by bisection on the values' order-preserving bits), kept as they are; none when the two are equal (the reference
//     would keep a dead input's whole zero column)
//   q = the nearest centroid (the first on ties) or w when reserved;  err = (w − q)/U[c, c];  Err[:, c − i1] = err
// The twin's bit-for-bit agreement assumes no fused multiply-add (SwiftShader does not fuse, even for fma()); a
// driver that contracts `w −= e·u` or `s += d·d` gives the same algorithm with different roundings.
// fit = 0 skips seeding and Lloyd (the codebook is k of the column's values): the benchmark's loop without k-means.
struct Params { R: u32, K: u32, i1: u32, count: u32, seed: u32, maxIter: u32, fit: u32, pad: u32 }

@group(0) @binding(0) var<storage, read> U: array<f32>;              // [K, K] upper Cholesky factor of H⁻¹
@group(0) @binding(1) var<storage, read> W: array<f32>;              // [R, K] at the block's start
@group(0) @binding(2) var<storage, read> colInfo: array<vec4u>;      // [K] (bits, reserve, hiRank, loRank)
@group(0) @binding(3) var<storage, read_write> Q: array<f32>;        // [R, K]
@group(0) @binding(4) var<storage, read_write> Err: array<f32>;      // [R, BLOCK]
@group(0) @binding(5) var<storage, read_write> book: array<f32>;     // [K, BOOK]: centroids, reserved count, Lloyd steps
@group(0) @binding(6) var<storage, read_write> Wfit: array<f32>;     // [R, K] each column as it was clustered
@group(0) @binding(7) var<storage, read_write> scratch: array<u32>;  // [R] distance to the closest seed, then labels
@group(0) @binding(8) var<uniform> p: Params;

const BLOCK: u32 = 128u;
const WG: u32 = 64u;
const MAXK: u32 = 16u;
const BOOK: u32 = 20u;

var<workgroup> part: array<f32, MAXK * WG>;   // [MAXK, WG] per-thread partial sums
var<workgroup> partN: array<f32, MAXK * WG>;  // [MAXK, WG] per-thread counts
var<workgroup> partU: array<u32, WG>;
var<workgroup> cent: array<f32, MAXK>;
var<workgroup> shift: array<f32, MAXK>;
var<workgroup> sharedF: f32;
var<workgroup> sharedU: u32;

fn chunk(t: u32) -> vec2u {
  let size = (p.R + WG - 1u) / WG;
  let a = min(t * size, p.R);
  return vec2u(a, min(a + size, p.R));
}

/** Σ over the threads of x, in thread order, to every thread */
fn total(t: u32, x: f32) -> f32 {
  part[t] = x;
  workgroupBarrier();
  if (t == 0u) {
    var s = 0.0;
    for (var i = 0u; i < WG; i++) { s += part[i]; }
    sharedF = s;
  }
  return workgroupUniformLoad(&sharedF);
}

fn totalU(t: u32, x: u32) -> u32 {
  partU[t] = x;
  workgroupBarrier();
  if (t == 0u) {
    var s = 0u;
    for (var i = 0u; i < WG; i++) { s += partU[i]; }
    sharedU = s;
  }
  return workgroupUniformLoad(&sharedU);
}

fn minU(t: u32, x: u32) -> u32 {
  partU[t] = x;
  workgroupBarrier();
  if (t == 0u) {
    var s = 0xffffffffu;
    for (var i = 0u; i < WG; i++) { s = min(s, partU[i]); }
    sharedU = s;
  }
  return workgroupUniformLoad(&sharedU);
}

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

/** draw n of the seeded stream, uniform in [0, 1) */
fn uniform01(n: u32) -> f32 {
  return f32(pcg(pcg(p.seed) ^ n) >> 8u) / 16777216.0;
}

fn at(r: u32, col: u32) -> f32 {
  return Wfit[r * p.K + col];
}

fn closest(r: u32) -> f32 {
  return bitcast<f32>(scratch[r]);
}

/** the first row whose running sum of closest distances reaches v (chunk prefixes summed in thread order) */
fn searchsorted(t: u32, rows: vec2u, v: f32) -> u32 {
  var s = 0.0;
  for (var r = rows.x; r < rows.y; r++) { s += closest(r); }
  part[t] = s;
  workgroupBarrier();
  if (t == 0u) {
    var acc = 0.0;
    for (var i = 0u; i < WG; i++) { let c = part[i]; part[i] = acc; acc += c; }
  }
  workgroupBarrier();
  var acc = part[t];
  var found = p.R - 1u;
  for (var r = rows.x; r < rows.y; r++) {
    acc += closest(r);
    if (acc >= v) { found = r; break; }
  }
  workgroupBarrier();
  return minU(t, found);
}

/** k-means++ (greedy): each centroid the best of nTrials rows drawn in proportion to their closest distance² */
fn seedCodebook(t: u32, rows: vec2u, col: u32, k: u32) {
  let nTrials = 2u + u32(floor(log(f32(k))));
  var draw = 0u;
  let first = min(u32(uniform01(draw) * f32(p.R)), p.R - 1u);
  draw++;
  let c0 = at(first, col);
  if (t == 0u) { cent[0] = c0; }
  var s = 0.0;
  for (var r = rows.x; r < rows.y; r++) {
    let d = at(r, col) - c0;
    scratch[r] = bitcast<u32>(d * d);
    s += d * d;
  }
  var pot = total(t, s);
  for (var c = 1u; c < k; c++) {
    var bestPot = 3.4e38;
    var bestRow = 0u;
    for (var trial = 0u; trial < nTrials; trial++) {
      let id = searchsorted(t, rows, uniform01(draw) * pot);
      draw++;
      let x = at(id, col);
      var cp = 0.0;
      for (var r = rows.x; r < rows.y; r++) {
        let d = at(r, col) - x;
        cp += min(closest(r), d * d);
      }
      let candPot = total(t, cp);
      if (candPot < bestPot) { bestPot = candPot; bestRow = id; }
    }
    let x = at(bestRow, col);
    for (var r = rows.x; r < rows.y; r++) {
      let d = at(r, col) - x;
      scratch[r] = bitcast<u32>(min(closest(r), d * d));
    }
    pot = bestPot;
    if (t == 0u) { cent[c] = x; }
  }
}

/** Lloyd's steps (sklearn's order: assign, recompute, stop on equal labels or a small shift); returns the steps run */
fn lloyd(t: u32, rows: vec2u, col: u32, k: u32, tol: f32) -> u32 {
  for (var r = rows.x; r < rows.y; r++) { scratch[r] = 0xffffffffu; }
  workgroupBarrier();
  var steps = 0u;
  loop {
    if (steps >= p.maxIter) { break; }
    // explicitly zeroed: a declaration inside a loop is not reliably re-initialized on every backend
    var sums = array<f32, MAXK>();
    var counts = array<f32, MAXK>();
    var changed = 0u;
    for (var r = rows.x; r < rows.y; r++) {
      let w = at(r, col);
      var best = 0u;
      var bd = (w - cent[0]) * (w - cent[0]);
      for (var j = 1u; j < k; j++) {
        let d = (w - cent[j]) * (w - cent[j]);
        if (d < bd) { bd = d; best = j; }
      }
      sums[best] += w;
      counts[best] += 1.0;
      if (scratch[r] != best) { changed = 1u; }
      scratch[r] = best;
    }
    for (var j = 0u; j < MAXK; j++) {
      part[j * WG + t] = sums[j];
      partN[j * WG + t] = counts[j];
    }
    partU[t] = changed;
    workgroupBarrier();
    if (t < k) {
      var s = 0.0;
      var n = 0.0;
      for (var i = 0u; i < WG; i++) {
        s += part[t * WG + i];
        n += partN[t * WG + i];
      }
      let old = cent[t];
      let next = select(old, s / n, n > 0.0);
      shift[t] = (next - old) * (next - old);
      cent[t] = next;
    }
    workgroupBarrier();
    steps++;
    if (t == 0u) {
      var any = 0u;
      var sh = 0.0;
      for (var i = 0u; i < WG; i++) { any |= partU[i]; }
      for (var j = 0u; j < k; j++) { sh += shift[j]; }
      sharedU = select(0u, 1u, any == 0u || sh <= tol);
    }
    if (workgroupUniformLoad(&sharedU) != 0u) { break; }
  }
  return steps;
}

/** order-preserving bits of an f32 */
fn key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn unkey(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

/** the value at descending rank `rank` (0: the largest): the largest key t with count(key ≥ t) > rank */
fn descendingRank(t: u32, rows: vec2u, col: u32, rank: u32) -> f32 {
  var lo = 0u;
  var hi = 0xffffffffu;
  for (var b = 0u; b < 32u; b++) {
    let mid = lo + ((hi - lo) >> 1u) + ((hi - lo) & 1u);
    var n = 0u;
    for (var r = rows.x; r < rows.y; r++) { n += select(0u, 1u, key(at(r, col)) >= mid); }
    if (totalU(t, n) > rank) { lo = mid; } else { hi = mid - 1u; }
  }
  return unkey(lo);
}

@compute @workgroup_size(WG)
fn claqBlock(@builtin(local_invocation_index) t: u32) {
  let rows = chunk(t);
  for (var i = 0u; i < p.count; i++) {
    let col = p.i1 + i;
    let info = colInfo[col];
    let k = 1u << info.x;
    var s = 0.0;
    for (var r = rows.x; r < rows.y; r++) {
      var w = W[r * p.K + col];
      for (var j = 0u; j < i; j++) { w -= Err[r * BLOCK + j] * U[(p.i1 + j) * p.K + col]; }
      Wfit[r * p.K + col] = w;
      s += w;
    }
    // seeding and the fit = 0 codebook read rows other threads wrote
    storageBarrier();
    let mean = total(t, s) / f32(p.R);
    var v = 0.0;
    for (var r = rows.x; r < rows.y; r++) { v += (at(r, col) - mean) * (at(r, col) - mean); }
    let tol = total(t, v) / f32(p.R) * 1e-4;
    var steps = 0u;
    if (p.fit != 0u) {
      seedCodebook(t, rows, col, k);
      steps = lloyd(t, rows, col, k, tol);
    } else {
      if (t < k) { cent[t] = at((t * p.R) / k, col); }
      workgroupBarrier();
    }
    var hiV = 3.4e38;
    var loV = -3.4e38;
    if (info.y != 0u) {
      let hi = descendingRank(t, rows, col, info.z);
      let lo = descendingRank(t, rows, col, info.w);
      // equal bounds: the column is one value between them (a dead input's zeros), every value a centroid already
      if (hi > lo) { hiV = hi; loV = lo; }
    }
    let d = U[col * p.K + col];
    var kept = 0u;
    for (var r = rows.x; r < rows.y; r++) {
      let w = at(r, col);
      var q = cent[0];
      var bd = abs(w - cent[0]);
      for (var j = 1u; j < k; j++) {
        let e = abs(w - cent[j]);
        if (e < bd) { bd = e; q = cent[j]; }
      }
      if (w >= hiV || w <= loV) { q = w; kept++; }
      Q[r * p.K + col] = q;
      Err[r * BLOCK + i] = (w - q) / d;
    }
    let reserved = totalU(t, kept);
    if (t < MAXK) { book[col * BOOK + t] = select(0.0, cent[t], t < k); }
    if (t == 0u) {
      book[col * BOOK + MAXK] = f32(reserved);
      book[col * BOOK + MAXK + 1u] = f32(steps);
    }
  }
}
