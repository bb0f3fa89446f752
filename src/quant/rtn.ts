// RTN: the uniform quantizer applied to each weight row (or group) directly — GPTQ's --nearest. The smallest method,
// and the worked example of "Adding a method" in the README: options, rules, label, one hook.
import { z } from 'zod';
import type { Backend } from '../gpu/backend.ts';
import { contiguousGroups, fitColumnGroups } from './grid.ts';
import type { ColumnGroups, WeightMethod } from './method.ts';
import { checkGroupsize, checkLwc, groupsizeOption, lwcOptions, symOption, wbitsOption } from './weightOptions.ts';

const options = z.strictObject({
  wbits: wbitsOption,
  groupsize: groupsizeOption,
  sym: symOption,
  // a lab extension beyond DuQuant's chain: OmniQuant's W4A16 recipe is RTN with learnable clipping alone
  ...lwcOptions,
});
export type RtnOptions = z.infer<typeof options>;

/**
 * Ŵ [R, K] for W [R, K] on a backend: per row, per contiguous group of g columns, or per fixed column group (fitted
 * on the host copy of W, as GPTQ fits them).
 */
export function rtn<T>(
  be: Backend<T>,
  W: T,
  shape: readonly [number, number],
  wbits: number,
  groupsize: number,
  sym: boolean,
  fixed?: ColumnGroups & { host: Float32Array },
): T {
  const { Q, params } = rtnOnGrid(be, W, shape, wbits, groupsize, sym, fixed);
  be.release(params);
  return Q;
}

/**
 * RTN's Ŵ and the grid's (scale, zero) per row and group [R, groups, 2], still on the backend, and each column's
 * group.
 */
function rtnOnGrid<T>(
  be: Backend<T>,
  W: T,
  [R, K]: readonly [number, number],
  wbits: number,
  groupsize: number,
  sym: boolean,
  fixed?: ColumnGroups & { host: Float32Array },
): { Q: T; params: T; colGroup: Uint32Array } {
  const g = groupsize > 0 ? groupsize : K;
  const grid = { maxq: 2 ** wbits - 1, sym, groupsize: g };
  let params: T;
  let colGroup: Uint32Array;
  if (fixed) {
    params = be.fromHost(fitColumnGroups(fixed.host, R, K, fixed.colGroup, fixed.groups, grid.maxq, sym, fixed), [
      R,
      fixed.groups,
      2,
    ]);
    colGroup = fixed.colGroup;
  } else {
    const groups = Math.ceil(K / g);
    params = be.zeros([R, groups, 2]);
    be.quantParams(W, params, grid, 0, groups);
    colGroup = contiguousGroups(K, g);
  }
  const cg = be.ids(colGroup);
  const Q = be.fakeQuant(W, params, cg, grid);
  be.release(cg);
  return { Q, params, colGroup };
}

export const RTN: WeightMethod<typeof options> = {
  kind: 'weight',
  name: 'rtn',
  uniformGrid: true,
  seedFlag: 'nearest',
  title: 'RTN',
  summary: 'round to nearest on a per-row (or per-group) uniform grid',
  options,
  groupOptions: ['groupsize'],
  check: (o, ctx) => (checkGroupsize(o.groupsize, false, ctx, o.sym), checkLwc(o, ctx)),
  describe: (o) =>
    [
      o.sym ? 'sym' : '',
      o.lwc ? `learnable clip: ${o.epochs} epochs · lr ${o.lwcLr}` : '',
      o.lwc && o.wd ? `wd ${o.wd}` : '',
      o.lwc && o.augLoss ? 'aug loss' : '',
    ]
      .filter(Boolean)
      .join(' · '),
  tag: (o) => (o.lwc ? 'LWC' : null),
  label: (o) => `W${o.wbits}${o.groupsize > 0 ? ` g${o.groupsize}` : ''}`,
  needsHessian: () => false,
  sequential: () => false,
  codeBits: (o) => o.wbits,
  groups: (o, K, fixed) => fixed?.groups ?? (o.groupsize > 0 ? Math.ceil(K / o.groupsize) : 1),
  async quantize(be, layer, o) {
    const { Q, params, colGroup } = rtnOnGrid(
      be,
      layer.Wt,
      layer.shape,
      o.wbits,
      o.groupsize,
      o.sym,
      layer.groups && { ...layer.groups, host: layer.W },
    );
    const grid = { params: await be.toHost(params), gIdx: colGroup, maxq: 2 ** o.wbits - 1, sym: o.sym };
    be.release(params);
    return { Q, grid };
  },
  clipTraining: (o) =>
    o.lwc ? { epochs: o.epochs, lr: o.lwcLr, wd: o.wd, augLoss: o.augLoss, groupsize: o.groupsize } : null,
  presets: [
    { label: 'RTN W4', steps: [{ method: 'rtn', wbits: 4, groupsize: -1 }] },
    { label: 'RTN+LWC W4 g128', steps: [{ method: 'rtn', wbits: 4, groupsize: 128, lwc: true }] },
  ],
};
