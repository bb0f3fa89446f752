// The options every weight quantizer on a uniform grid shares (bits, group size, symmetric grid) and their rules, and
// the activation bits every transform shares: one definition, so methods say the same thing about the same flag.
import { z } from 'zod';
import { GPTQ_BLOCK } from '../gpu/reference.ts';
import { FACTOR_ROUTES } from './factorization.ts';
import type { CheckContext } from './method.ts';

export const wbitsOption = z
  .number()
  .int()
  .min(2)
  .max(8)
  .default(4)
  .meta({ flag: 'wbits', label: 'wbits', description: 'bits per weight code' });
export const groupsizeOption = z
  .number()
  .int()
  .min(-1)
  .max(1 << 20)
  .refine((g) => g !== 0)
  .default(-1)
  .meta({
    flag: 'groupsize',
    label: 'group size',
    description: 'columns per (scale, zero) group; −1 = one group per row',
    range: '−1 (per row) or a positive integer',
  });
/** Activation bits of a transform's quantizers: 2..8, or 16 for full precision (RPTQ's and DuQuant's --abits). */
export const abitsOption = (defaultBits: number, what: string) =>
  z
    .number()
    .int()
    .min(2)
    .max(16)
    .refine((b) => b <= 8 || b === 16)
    .default(defaultBits)
    .meta({
      flag: 'abits',
      label: 'abits',
      description: `activation bits${what} (16 = full precision)`,
      range: '2..8, or 16',
    });

/**
 * GPTQ's column-loop options, shared by the methods built on its loop (GPTQ; CLAQ, whose defaults are the reference's).
 */
export function gptqLoopOptions(defaults: { actOrder: boolean; trueSequential: boolean }) {
  return {
    actOrder: z
      .boolean()
      .default(defaults.actOrder)
      .meta({ flag: 'act-order', label: 'act-order', description: 'quantize columns by decreasing Hessian diagonal' }),
    trueSequential: z.boolean().default(defaults.trueSequential).meta({
      flag: 'true-sequential',
      label: 'true-sequential',
      description: 'q/k/v → o → fc1 → fc2, each on inputs after the previous group',
    }),
    percdamp: z.number().min(0).lt(1).default(0.01).meta({
      flag: 'percdamp',
      label: 'damp',
      description: 'dampening, a fraction of the mean Hessian diagonal',
      range: 'a number in [0, 1)',
    }),
    blocksize: z
      .number()
      .int()
      .min(1)
      .max(GPTQ_BLOCK)
      .default(128)
      .meta({ flag: 'blocksize', label: 'block size', description: 'columns per lazy-update block' }),
    factorization: z
      .enum(FACTOR_ROUTES)
      .optional()
      .meta({
        flag: 'factorization',
        label: 'factorization',
        description:
          "the Hessian's factorization: f32 on the GPU (as the reference), f64 on the CPU, " +
          'or the faster of the two measured on the first layer',
        fallback: 'auto',
      }),
  };
}

export const symOption = z
  .boolean()
  .default(false)
  .meta({ flag: 'sym', label: 'sym', description: 'symmetric grid (zero at the middle level)' });

/** The input widths of the decoder's linear layers (what a group size must divide). */
export function linearInputWidths(cfg: NonNullable<CheckContext['cfg']>): Record<string, number> {
  return {
    'q/k/v, fc1/gate/up (hidden)': cfg.hidden,
    'out_proj/o_proj (heads × head_dim)': cfg.heads * cfg.headDim,
    'fc2/down_proj (ffn)': cfg.ffn,
  };
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

/**
 * Learnable weight clipping (DuQuant's run_lwc.sh, inherited from OmniQuant): its switch and its training, with the
 * reference's flags and defaults (methods.md, "Learnable weight clipping").
 */
export const lwcOptions = {
  lwc: z.boolean().default(false).meta({
    flag: 'lwc',
    label: 'learnable clipping',
    description: "train each row's clip per block (AdamW against the full-precision block), as DuQuant's run_lwc.sh",
  }),
  epochs: z.number().int().min(0).max(1000).default(20).meta({
    flag: 'epochs',
    label: 'epochs',
    description: 'passes over the calibration windows per block when training the clip (0: the initial clip)',
  }),
  lwcLr: z.number().gt(0).max(1).default(1e-2).meta({
    flag: 'lwc_lr',
    label: 'clip learning rate',
    description: "AdamW's learning rate for the clip bounds",
    range: 'a number in (0, 1]',
  }),
  wd: z.number().min(0).max(1).default(0).meta({
    flag: 'wd',
    label: 'weight decay',
    description: "AdamW's decoupled weight decay on the clip bounds",
    range: 'a number in [0, 1]',
  }),
  augLoss: z.boolean().default(false).meta({
    flag: 'aug_loss',
    label: 'augmented loss',
    description: "also match the full-precision block's output on the quantized stream's input",
  }),
};

/** The training options' own rules: they mean something only with --lwc. */
export function checkLwc(
  o: { lwc: boolean; epochs: number; lwcLr: number; wd: number; augLoss: boolean; sym: boolean },
  ctx: CheckContext,
): void {
  const defaults = { epochs: 20, lwcLr: 1e-2, wd: 0, augLoss: false };
  if (!o.lwc) {
    for (const [key, flag] of [
      ['epochs', 'epochs'],
      ['lwcLr', 'lwc_lr'],
      ['wd', 'wd'],
      ['augLoss', 'aug_loss'],
    ] as const)
      if (o[key] !== defaults[key]) ctx.bad(`--${flag} trains the learnable clip: add --lwc`);
    return;
  }
  if (o.sym) ctx.bad("--lwc trains an asymmetric grid (the reference's default): leave out --sym");
  if (ctx.groupsFixedBy && !ctx.groupsFixedBy.clipped)
    ctx.bad(`--lwc does not apply after ${ctx.groupsFixedBy.by}: ${ctx.groupsFixedBy.why}`);
}
