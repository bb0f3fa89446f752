// The experiment as one value: CLI flags, the page's form and reports all speak QuantRecipe. Defaults follow
// shared/docs/methods.md; validate() refuses bad combinations before any work starts.
import { OptionsError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';

export const METHODS = ['fp', 'rtn', 'gptq'] as const;
export type Method = (typeof METHODS)[number];

export interface QuantRecipe {
  method: Method;
  wbits: number;
  /** columns per quantization group; −1 = per row */
  groupsize: number;
  sym: boolean;
  actOrder: boolean;
  staticGroups: boolean;
  trueSequential: boolean;
  percdamp: number;
  blocksize: number;
  nsamples: number;
  /** calibration window length */
  seqlen: number;
  /** calibration text: c4, tinystories, tinyshakespeare, wikitext2, ptb, or a path/URL of a text file */
  calib: string;
  seed: number;
  /** quantize and run only the first N blocks (debugging), as in the seed projects */
  hiddenLayerNum?: number;
}

export const DEFAULT_RECIPE: QuantRecipe = {
  method: 'fp',
  wbits: 16,
  groupsize: -1,
  sym: false,
  actOrder: false,
  staticGroups: false,
  trueSequential: false,
  percdamp: 0.01,
  blocksize: 128,
  nsamples: 128,
  seqlen: 2048,
  calib: 'c4',
  seed: 0,
};

export function recipe(partial: Partial<QuantRecipe>): QuantRecipe {
  const r = { ...DEFAULT_RECIPE, ...partial };
  if (partial.method && partial.method !== 'fp' && partial.wbits === undefined) r.wbits = 4;
  if (r.method === 'fp') r.wbits = 16;
  return r;
}

/** The input widths of the decoder's linear layers (what a group size must divide). */
function linearInputWidths(cfg: ModelConfig): Record<string, number> {
  return { 'q/k/v, fc1/gate/up (hidden)': cfg.hidden, 'out_proj/o_proj (heads × head_dim)': cfg.heads * cfg.headDim, 'fc2/down_proj (ffn)': cfg.ffn };
}

/** Throws OptionsError naming the first bad option. The model config, when known, checks widths and layer counts. */
export function validateRecipe(r: QuantRecipe, cfg?: ModelConfig): void {
  const bad = (msg: string) => {
    throw new OptionsError(msg);
  };
  if (!(METHODS as readonly string[]).includes(r.method)) bad(`--method must be one of ${METHODS.join(', ')} (got "${r.method}")`);
  if (r.method !== 'fp' && (!Number.isInteger(r.wbits) || r.wbits < 2 || r.wbits > 8)) bad(`--wbits must be an integer from 2 to 8 for ${r.method} (got ${r.wbits})`);
  if (!Number.isInteger(r.groupsize) || (r.groupsize !== -1 && r.groupsize < 1)) bad(`--groupsize must be −1 (per row) or a positive integer (got ${r.groupsize})`);
  if (!Number.isInteger(r.nsamples) || r.nsamples < 1) bad(`--nsamples must be a positive integer (got ${r.nsamples})`);
  if (!Number.isInteger(r.seqlen) || r.seqlen < 2) bad(`--seqlen must be an integer ≥ 2 (got ${r.seqlen})`);
  if (!(r.percdamp >= 0 && r.percdamp < 1)) bad(`--percdamp must be in [0, 1) (got ${r.percdamp})`);
  if (!Number.isInteger(r.blocksize) || r.blocksize < 1 || r.blocksize > 128) bad(`--blocksize must be 1..128 (got ${r.blocksize})`);
  if (r.staticGroups && r.groupsize === -1) bad('--static-groups needs a --groupsize');
  if (!Number.isInteger(r.seed)) bad(`--seed must be an integer (got ${r.seed})`);
  if (!cfg) return;
  if (r.hiddenLayerNum !== undefined && (!Number.isInteger(r.hiddenLayerNum) || r.hiddenLayerNum < 1 || r.hiddenLayerNum > cfg.layers)) {
    bad(`--hidden_layer_num must be 1..${cfg.layers} for this model (got ${r.hiddenLayerNum})`);
  }
  if (r.groupsize > 0 && r.method !== 'fp') {
    for (const [what, width] of Object.entries(linearInputWidths(cfg))) {
      if (width % r.groupsize !== 0) bad(`--groupsize ${r.groupsize} does not divide the ${what} width ${width}`);
    }
  }
}
