// The options every weight quantizer on a uniform grid shares (bits, group size, symmetric grid) and their rules, and
// the activation bits every transform shares: one definition, so methods say the same thing about the same flag.
import { z } from 'zod';
import type { CheckContext } from './method.ts';

export const wbitsOption = z.number().int().min(2).max(8).default(4).meta({ flag: 'wbits', label: 'wbits', description: 'bits per weight code' });
export const groupsizeOption = z
  .number()
  .int()
  .min(-1)
  .max(1 << 20)
  .refine((g) => g !== 0)
  .default(-1)
  .meta({ flag: 'groupsize', label: 'group size', description: 'columns per (scale, zero) group; −1 = one group per row', range: '−1 (per row) or a positive integer' });
/** Activation bits of a transform's quantizers: 2..8, or 16 for full precision (RPTQ's and DuQuant's --abits). */
export const abitsOption = (defaultBits: number, what: string) =>
  z
    .number()
    .int()
    .min(2)
    .max(16)
    .refine((b) => b <= 8 || b === 16)
    .default(defaultBits)
    .meta({ flag: 'abits', label: 'abits', description: `activation bits${what} (16 = full precision)`, range: '2..8, or 16' });

export const symOption = z.boolean().default(false).meta({ flag: 'sym', label: 'sym', description: 'symmetric grid (zero at the middle level)' });

/** The input widths of the decoder's linear layers (what a group size must divide). */
export function linearInputWidths(cfg: NonNullable<CheckContext['cfg']>): Record<string, number> {
  return { 'q/k/v, fc1/gate/up (hidden)': cfg.hidden, 'out_proj/o_proj (heads × head_dim)': cfg.heads * cfg.headDim, 'fc2/down_proj (ffn)': cfg.ffn };
}

/** Group size against a transform's fixed groups and the model's widths. */
export function checkGroupsize(groupsize: number, staticGroups: boolean, ctx: CheckContext, sym = false): void {
  if (ctx.groupsFixedBy) {
    const { by, why, clipped } = ctx.groupsFixedBy;
    if (sym && clipped) ctx.bad(`--sym does not apply after ${by}: ${why}`);
    if (groupsize !== -1) ctx.bad(`--groupsize does not apply after ${by}: ${why}`);
    if (staticGroups) ctx.bad(`--static-groups does not apply after ${by}: its groups are always fitted up front`);
  }
  if (staticGroups && groupsize === -1) ctx.bad('--static-groups needs a --groupsize');
  if (groupsize > 0 && ctx.cfg) {
    for (const [what, width] of Object.entries(linearInputWidths(ctx.cfg))) {
      if (width % groupsize !== 0) ctx.bad(`--groupsize ${groupsize} does not divide the ${what} width ${width}`);
    }
  }
}
