// Straight-through fake-quant and its gradients, what learnable weight clipping trains through (twins:
// src/gpu/steQuant.reference.ts, which states the rules):
//   lwcQuant        Ŵ of each (row, group of g columns) on its clip (σ(up)·max, σ(low)·min)
//   lwcGrad         d(up), d(low) of each (row, group) from dŴ: rounding passes straight through, the zero point none
//   tokenQuantGrad  dx of the per-token activation fake-quant (tokenQuant.wgsl) by the same rules
// One thread per row group (or row): no barriers and no scratch buffer, as tokenQuant.

struct Params { groups: u32, g: u32, maxq: f32, lac: f32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;        // W [groups, g] or x [rows, G]
@group(0) @binding(1) var<storage, read> aux: array<f32>;      // bounds [groups, 2] (lwc), dy [rows, G] (token)
@group(0) @binding(2) var<storage, read> upstream: array<f32>; // dŴ [groups, g] (lwcGrad); else aux again
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

const SCALE_MIN = 1e-5;
const SCALE_MAX = 1e4;

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

fn index(gid: vec3u, nwg: vec3u) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

struct Range { lo: f32, hi: f32 }

fn extent(o: u32) -> Range {
  var r = Range(3.4e38, -3.4e38);
  for (var i = o; i < o + p.g; i++) {
    r.lo = min(r.lo, x[i]);
    r.hi = max(r.hi, x[i]);
  }
  return r;
}

struct Grid { scale: f32, zero: f32, clamped: bool }

fn grid(lo: f32, hi: f32, clampZero: bool) -> Grid {
  let raw = (hi - lo) / p.maxq;
  let scale = clamp(raw, SCALE_MIN, SCALE_MAX);
  var z = -lo / scale;
  if (clampZero) { z = clamp(z, -SCALE_MAX, SCALE_MAX); }
  return Grid(scale, round(z), raw < SCALE_MIN || raw > SCALE_MAX);
}

/** dŴ/dscale of one value: round(v) − v inside the grid, (bound − zero) where the clamp holds it. */
fn scaleSlope(w: f32, q: Grid) -> f32 {
  let v = w / q.scale;
  let level = round(v) + q.zero;
  if (level < 0.0) { return -q.zero; }
  if (level > p.maxq) { return p.maxq - q.zero; }
  return round(v) - v;
}

fn lwcGrid(rg: u32, r: Range) -> Grid {
  return grid(sigmoid(aux[2u * rg + 1u]) * r.lo, sigmoid(aux[2u * rg]) * r.hi, true);
}

@compute @workgroup_size(64)
fn lwcQuant(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  // every entry binds the same five resources (one host side): the unused one is touched, not read for anything
  _ = upstream[0];
  let rg = index(gid, nwg);
  if (rg >= p.groups) { return; }
  let o = rg * p.g;
  let q = lwcGrid(rg, extent(o));
  for (var i = o; i < o + p.g; i++) {
    let level = clamp(round(x[i] / q.scale) + q.zero, 0.0, p.maxq);
    out[i] = q.scale * (level - q.zero);
  }
}

@compute @workgroup_size(64)
fn lwcGrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let rg = index(gid, nwg);
  if (rg >= p.groups) { return; }
  let o = rg * p.g;
  let r = extent(o);
  let su = sigmoid(aux[2u * rg]);
  let sl = sigmoid(aux[2u * rg + 1u]);
  let q = grid(sl * r.lo, su * r.hi, true);
  out[2u * rg] = 0.0;
  out[2u * rg + 1u] = 0.0;
  if (q.clamped) { return; }
  var dScale = 0.0;
  for (var i = o; i < o + p.g; i++) { dScale += upstream[i] * scaleSlope(x[i], q); }
  out[2u * rg] = dScale * su * (1.0 - su) * r.hi / p.maxq;
  out[2u * rg + 1u] = -dScale * sl * (1.0 - sl) * r.lo / p.maxq;
}

@compute @workgroup_size(64)
fn tokenQuantGrad(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  _ = upstream[0];
  let row = index(gid, nwg);
  if (row >= p.groups) { return; }
  let o = row * p.g;
  let r = extent(o);
  let q = grid(r.lo * p.lac, r.hi * p.lac, false);
  var dScale = 0.0;
  var nMin = 0.0;
  var nMax = 0.0;
  for (var i = o; i < o + p.g; i++) {
    let level = round(x[i] / q.scale) + q.zero;
    var d = 0.0;
    if (level >= 0.0 && level <= p.maxq) { d = aux[i]; }
    out[i] = d;
    dScale += aux[i] * scaleSlope(x[i], q);
    if (x[i] == r.lo) { nMin += 1.0; }
    if (x[i] == r.hi) { nMax += 1.0; }
  }
  if (q.clamped) { return; }
  // scale = lac·(max − min)/maxq; torch.amax/amin share a tie's gradient evenly
  let d = dScale * p.lac / p.maxq;
  for (var i = o; i < o + p.g; i++) {
    if (x[i] == r.hi) { out[i] += d / nMax; }
    if (x[i] == r.lo) { out[i] -= d / nMin; }
  }
}
