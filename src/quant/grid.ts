// The uniform grid's parameters for groups of any shape: the row × column-group fit that RTN and GPTQ use for fixed
// groups (RPTQ's input clusters), the plain-TS GPTQ uses for contiguous groups, and RPTQ's activation quantizers use
// per cluster. All of them go through fitRange, the quantParams kernel's twin.
import { fitRange, roundEven } from '../gpu/reference.ts';
import { lwcRange } from '../gpu/steQuant.reference.ts';
import type { ColumnGroups, LayerGrid } from './method.ts';
import { packCodes, type HostPacked } from '../model/packedLinear.ts';

export { fitRange };

/**
 * DuQuant's quantizer range (weights with swc, activations with lac): the raw min and max times clip, not widened to
 * 0; scale (max − min)/maxq clamped to [1e-5, 1e4], zero round(−min/scale). The tokenQuant kernel's rule, on the
 * host.
 */
export function clippedRange(lo: number, hi: number, maxq: number, clip: number): [number, number] {
  const f = Math.fround;
  const l = f(lo * clip);
  const h = f(hi * clip);
  const scale = Math.min(Math.max(f(f(h - l) / maxq), f(1e-5)), f(1e4));
  return [scale, roundEven(f(-l / scale))];
}

/**
 * (scale, zero) per (row, group) for groups given as a column → group map: params [R, groups, 2]. With a static clip,
 * each group's range is DuQuant's clipped raw range (clippedRange); with learned bounds, learnable weight clipping's
 * (lwcRange, the lwcQuant kernel's rule); else the shared convention.
 */
export function fitColumnGroups(
  W: ArrayLike<number>,
  R: number,
  K: number,
  colGroup: ArrayLike<number>,
  groups: number,
  maxq: number,
  sym: boolean,
  clip?: Pick<ColumnGroups, 'clip' | 'bounds'>,
): Float32Array {
  const params = new Float32Array(R * groups * 2);
  const lo = new Float64Array(groups);
  const hi = new Float64Array(groups);
  for (let r = 0; r < R; r++) {
    lo.fill(Infinity);
    hi.fill(-Infinity);
    for (let c = 0; c < K; c++) {
      const j = colGroup[c];
      const w = W[r * K + c];
      if (w < lo[j]) lo[j] = w;
      if (w > hi[j]) hi[j] = w;
    }
    for (let j = 0; j < groups; j++) {
      const i = r * groups + j;
      params.set(
        clip?.bounds
          ? lwcRange(lo[j], hi[j], clip.bounds[2 * i], clip.bounds[2 * i + 1], maxq)
          : clip?.clip !== undefined
            ? clippedRange(lo[j], hi[j], maxq, clip.clip)
            : fitRange(lo[j], hi[j], maxq, sym),
        i * 2,
      );
    }
  }
  return params;
}

/** Contiguous groups of g columns as a column → group map. */
export function contiguousGroups(K: number, g: number): Uint32Array {
  return Uint32Array.from({ length: K }, (_, c) => Math.floor(c / g));
}

/**
 * The integer codes of dequantized weights Q [R, K] on the grid they were quantized on (exact: Q is
 * scale·(q − zero), kept in f32 or f16, well inside half a step of the next code for any code ≤ 255). What export
 * packs and Inspect counts.
 */
export function gridCodes(Q: Float32Array, grid: LayerGrid, R: number, K: number): Uint8Array {
  const groups = grid.params.length / (2 * R);
  const q = new Uint8Array(R * K);
  for (let r = 0; r < R; r++)
    for (let k = 0; k < K; k++) {
      const p = (r * groups + grid.gIdx[k]) * 2;
      q[r * K + k] = Math.min(grid.maxq, Math.max(0, Math.round(Q[r * K + k] / grid.params[p] + grid.params[p + 1])));
    }
  return q;
}

/**
 * A dense quantized layer Q [N, K] on its grid as packed host arrays (packedLinear.ts), or why it cannot be packed:
 * levels other than 2^2..2^8, or a zero point that is not a whole code.
 */
export function packGrid(Q: Float32Array, grid: LayerGrid, N: number, K: number): HostPacked | string {
  const bits = Math.log2(grid.maxq + 1);
  if (!Number.isInteger(bits) || bits < 2 || bits > 8) return `its grid has ${grid.maxq + 1} levels, not 2^2..2^8`;
  const G = grid.params.length / (2 * N);
  const zero = new Float32Array(G * N);
  const scales = new Float32Array(G * N);
  for (let n = 0; n < N; n++)
    for (let g = 0; g < G; g++) {
      const [s, z] = [grid.params[(n * G + g) * 2], grid.params[(n * G + g) * 2 + 1]];
      if (!Number.isInteger(z) || z < 0 || z > grid.maxq) return `zero point ${z} is not a code`;
      zero[g * N + n] = z;
      scales[g * N + n] = s;
    }
  return packCodes(gridCodes(Q, grid, N, K), zero, scales, grid.gIdx.slice(), bits, N, K);
}
