// Twins of the straight-through fake-quant kernels (shaders/steQuant.wgsl), what learnable weight clipping trains
// through (methods.md, "Learnable weight clipping"; the reference's quantizer.py, inherited from OmniQuant):
//   lwcQuant   a weight row group on its learnable clip: hi = σ(up)·max, lo = σ(low)·min,
//              scale = clamp((hi − lo)/maxq, 1e-5, 1e4), zero = round(clamp(−lo/scale, ±1e4)),
//              Ŵ = scale·(clamp(round(W/scale) + zero, 0, maxq) − zero)
//   lwcGrad    d(up), d(low) of a loss given dŴ, with autograd's rules for that code: rounding passes gradients
//              straight through (round_ste), the zero point's plain round passes none, clamps pass inside their
//              bounds (inclusive), so dŴ/dscale = round(v) − v inside the grid and (bound − zero) outside it
//   tokenQuantGrad  dx of the per-token activation fake-quant (tokenQuant, reference.ts) by the same rules, its
//              scale's gradient reaching the row's min and max entries (split evenly between ties, as torch.amax)
// Each computes in the precision of its data (`like`): f32 as the kernels, f64 when a gradient check asks.
import { cpu, like, roundEven, type CpuTensor } from './reference.ts';

const SCALE_MIN = 1e-5;
const SCALE_MAX = 1e4;

/** Math.fround for f32 data, the identity for f64 data (gradient checks). */
function rounder(a: Float32Array): (x: number) => number {
  return a instanceof Float64Array ? (x) => x : Math.fround;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * One range's grid: (scale, zero, whether the scale was clamped) from its clipped lo and hi. The weights' zero is
 * clamped to ±1e4 as the reference's; tokenQuant's is not (the kernel's rule).
 */
function rangeGrid(
  lo: number,
  hi: number,
  maxq: number,
  f: (x: number) => number,
  clampZero = true,
): [number, number, boolean] {
  const raw = f(f(hi - lo) / maxq);
  const scale = f(Math.min(Math.max(raw, SCALE_MIN), SCALE_MAX));
  const z = f(-lo / scale);
  const zero = roundEven(clampZero ? Math.min(Math.max(z, -SCALE_MAX), SCALE_MAX) : z);
  return [scale, zero, raw < SCALE_MIN || raw > SCALE_MAX];
}

/** A group's grid on its learnable clip: its raw range [lo, hi] clipped to [σ(low)·lo, σ(up)·hi]. */
function clippedGrid(lo: number, hi: number, up: number, low: number, maxq: number, f: (x: number) => number) {
  return rangeGrid(f(f(sigmoid(low)) * lo), f(f(sigmoid(up)) * hi), maxq, f);
}

/**
 * (scale, zero) of a weight group with raw range [lo, hi] on learned bounds (up, low), in f32 as lwcQuant: the grid a
 * layer is finally quantized on after training.
 */
export function lwcRange(lo: number, hi: number, up: number, low: number, maxq: number): [number, number] {
  const [scale, zero] = clippedGrid(lo, hi, up, low, maxq, Math.fround);
  return [scale, zero];
}

/** min and max of values [o, o + n) of a */
function extent(a: Float32Array, o: number, n: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = o; i < o + n; i++) ((lo = Math.min(lo, a[i])), (hi = Math.max(hi, a[i])));
  return [lo, hi];
}

/**
 * Ŵ [R, K] of W [R, K] on each (row, group of g columns)'s learnable clip; bounds [R, K/g, 2] holds (up, low) per
 * group, g dividing K.
 */
export function lwcQuant(W: CpuTensor, bounds: CpuTensor, g: number, maxq: number): CpuTensor {
  const [R, K] = W.shape;
  const f = rounder(W.data);
  const Q = like(W.data, R * K);
  const groups = K / g;
  if (bounds.data.length !== R * groups * 2)
    throw new Error(`lwcQuant: bounds has ${bounds.data.length} values, [${R}, ${groups}, 2] expected`);
  for (let rg = 0; rg < R * groups; rg++) {
    const o = rg * g;
    const [lo, hi] = extent(W.data, o, g);
    const [scale, zero] = clippedGrid(lo, hi, bounds.data[2 * rg], bounds.data[2 * rg + 1], maxq, f);
    for (let i = o; i < o + g; i++) {
      const level = Math.min(Math.max(roundEven(f(W.data[i] / scale)) + zero, 0), maxq);
      Q[i] = f(scale * (level - zero));
    }
  }
  return cpu(Q, [R, K]);
}

/** dŴ/dscale of one weight: round(v) − v inside the grid, (bound − zero) where the clamp holds it. */
function scaleSlope(w: number, scale: number, zero: number, maxq: number, f: (x: number) => number): number {
  const v = f(w / scale);
  const level = roundEven(v) + zero;
  if (level < 0) return -zero;
  if (level > maxq) return maxq - zero;
  return roundEven(v) - v;
}

/** d(up), d(low) [R, K/g, 2] of a loss, given its gradient dQ [R, K] with respect to lwcQuant's output. */
export function lwcGrad(W: CpuTensor, bounds: CpuTensor, dQ: CpuTensor, g: number, maxq: number): CpuTensor {
  const [R, K] = W.shape;
  const f = rounder(W.data);
  const groups = K / g;
  const dB = like(dQ.data, R * groups * 2);
  for (let rg = 0; rg < R * groups; rg++) {
    const o = rg * g;
    const [lo, hi] = extent(W.data, o, g);
    const su = f(sigmoid(bounds.data[2 * rg]));
    const sl = f(sigmoid(bounds.data[2 * rg + 1]));
    const [scale, zero, clamped] = rangeGrid(f(sl * lo), f(su * hi), maxq, f);
    if (clamped) continue;
    let dScale = 0;
    for (let i = o; i < o + g; i++) dScale += dQ.data[i] * scaleSlope(W.data[i], scale, zero, maxq, f);
    // scale = (σ(up)·max − σ(low)·min)/maxq
    dB[2 * rg] = (dScale * su * (1 - su) * hi) / maxq;
    dB[2 * rg + 1] = (-dScale * sl * (1 - sl) * lo) / maxq;
  }
  return cpu(dB, [R, groups, 2]);
}

/**
 * dx [rows, G] of tokenQuant (per row of G values: lo = lac·min, hi = lac·max) at its input x, given dy: dy where
 * the grid holds the value, plus the scale's gradient through the row's max and min.
 */
export function tokenQuantGrad(x: CpuTensor, dy: CpuTensor, G: number, maxq: number, lac: number): CpuTensor {
  const f = rounder(x.data);
  const dx = like(dy.data, x.data.length);
  for (let o = 0; o < x.data.length; o += G) {
    const [min, max] = extent(x.data, o, G);
    const [scale, zero, clamped] = rangeGrid(f(min * lac), f(max * lac), maxq, f, false);
    let dScale = 0;
    let nMin = 0;
    let nMax = 0;
    for (let i = o; i < o + G; i++) {
      const level = roundEven(f(x.data[i] / scale)) + zero;
      if (level >= 0 && level <= maxq) dx[i] = dy.data[i];
      dScale += dy.data[i] * scaleSlope(x.data[i], scale, zero, maxq, f);
      if (x.data[i] === min) nMin++;
      if (x.data[i] === max) nMax++;
    }
    if (clamped) continue;
    // scale = lac·(max − min)/maxq; torch.amax/amin share a tie's gradient evenly
    const d = (dScale * lac) / maxq;
    for (let i = o; i < o + G; i++) {
      if (x.data[i] === max) dx[i] += d / nMax;
      if (x.data[i] === min) dx[i] -= d / nMin;
    }
  }
  return cpu(dx, [...x.shape]);
}
