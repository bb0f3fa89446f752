// Peak GPU bytes of a run, predicted from the config and the checkpoint's headers before anything downloads: the
// weights in their storage format (WeightStore), plus the largest working set the run reaches — a block's forward
// (attention or MLP), the scoring step (forward.ts: final norm, one chunk of logits), and for GPTQ-family methods
// (quantizeModel.ts) the calibration windows, every Hessian of a block, one layer's factor and working copies, and the
// output-error pass's f32 copies of the block. It mirrors what those files allocate; a test holds it to the
// measured peak on a synthetic checkpoint.
import type { ModelConfig } from '../model/config.ts';
import { familyOf, linearRoles, linearShapes } from '../model/families.ts';
import { GPTQ_BLOCK } from '../gpu/reference.ts';
import { packedBytes } from '../model/packedLinear.ts';
import type { QuantRecipe } from '../quant/recipe.ts';

/** one buffer as the allocator takes it: 16-byte multiples, at least 16 */
const buf = (bytes: number) => Math.max(16, Math.ceil(bytes / 16) * 16);
const f32 = (n: number) => buf(4 * n);

export interface PeakInputs {
  cfg: ModelConfig;
  /** bytes the weights take on the GPU in their storage format (vocabulary chunks and all) */
  weightBytes: number;
  /** columns of the widest lm_head chunk, and its bytes per weight (2 or 4) */
  vocabPart: { rows: number; bytesPerWeight: number };
  /** evaluation window length */
  seqlen: number;
  maxTensorBytes: number;
  /** a GPTQ-family weight step: calibration windows (nsamples × seqlen) and whether weights are stored in 16 bits */
  quant?: { nsamples: number; seqlen: number; stored16: boolean };
}

/** The largest set of activations one block's forward holds at once, for S tokens. */
function blockActivations(cfg: ModelConfig, S: number): number {
  const { hidden: C, heads: H, kvHeads: HKV, headDim: D, ffn: F } = cfg;
  // attention: h, the norm output, q, k, v and the attention output
  const attention = 2 * f32(S * C) + 2 * f32(S * H * D) + 2 * f32(S * HKV * D);
  // MLP: h, the norm output and the activation (LLaMA: gate, up and their product)
  const mlp = familyOf(cfg).mlp === 'gated' ? 2 * f32(S * C) + 3 * f32(S * F) : 3 * f32(S * C) + f32(S * F);
  return Math.max(attention, mlp);
}

/** The output-error pass's largest moment: the activations live at a layer's input plus its two outputs. */
function errorActivations(cfg: ModelConfig, S: number): number {
  const { hidden: C, heads: H, kvHeads: HKV, headDim: D, ffn: F } = cfg;
  const x = (n: number) => f32(S * n);
  const v = 2 * x(C) + x(H * D) + x(HKV * D) + 2 * x(HKV * D); // h, norm, q, k; v's two outputs
  const o = 2 * x(C) + x(H * D) + 2 * x(C); // h, attention output; o's two outputs (the norm output is released)
  // h, norm (LLaMA: gate); up's outputs
  const up = familyOf(cfg).mlp === 'gated' ? 2 * x(C) + x(F) + 2 * x(F) : 2 * x(C) + 2 * x(F);
  const down = x(C) + x(F) + 2 * x(C); // h, the activation; down's outputs
  return Math.max(v, o, up, down);
}

/** The scoring step over S tokens: h, the normalized rows, one chunk of logits and its running state. */
function scoring(p: PeakInputs, S: number): number {
  const { cfg } = p;
  const N = S - 1;
  const part = p.vocabPart.rows;
  const budget = Math.min(p.maxTensorBytes, 256 * 2 ** 20, part * cfg.hidden * p.vocabPart.bytesPerWeight);
  const chunk = Math.max(1, Math.min(N, Math.floor(budget / (part * 4))));
  return 2 * f32(S * cfg.hidden) + f32(N * cfg.hidden) + f32(chunk * part) + f32(chunk * 4) + f32(N * 2) + buf(4 * N);
}

/** Peak bytes of an evaluation (and, with `quant`, of quantizing a block with GPTQ or CLAQ first). */
export function predictPeak(p: PeakInputs): number {
  const { cfg, seqlen: S } = p;
  const evaluation = Math.max(blockActivations(cfg, S), scoring(p, S));
  if (!p.quant) return p.weightBytes + evaluation;
  const { nsamples, seqlen: Sq, stored16 } = p.quant;
  const shapes = linearShapes(cfg);
  const roles = linearRoles(cfg.family);
  const inputs = nsamples * f32(Sq * cfg.hidden);
  const hessians = roles.map((r) => f32(shapes[r]![1] ** 2));
  const hessianPass = hessians.reduce((a, b) => a + b, 0) + blockActivations(cfg, Sq) + f32(Sq * cfg.hidden);
  // layer r: the Hessians of the layers after it, its factor U, W, Q, the f32 working copy, a block of errors, params
  const layer = roles.map((r, i) => {
    const [R, K] = shapes[r]!;
    const later = hessians.slice(i + 1).reduce((a, b) => a + b, 0);
    return (
      later +
      f32(K * K) +
      2 * f32(R * K) +
      (stored16 ? f32(R * K) + buf(2 * R * K) : 0) +
      f32(R * GPTQ_BLOCK) +
      f32(R * 2)
    );
  });
  // the output-error pass: an f32 copy of every layer of the block, and at each layer's input what the forward holds
  // there plus that layer's quantized and full-precision outputs
  const blockF32 = roles.reduce((s, r) => s + f32(shapes[r]![0] * shapes[r]![1]), 0);
  const errorPass = blockF32 + Math.max(blockActivations(cfg, Sq), errorActivations(cfg, Sq));
  // the evaluation after quantization runs without the calibration windows
  return p.weightBytes + Math.max(evaluation, inputs + Math.max(hessianPass, ...layer, errorPass));
}

/**
 * Bytes the decoder's linear layers take on the GPU once a recipe has quantized them: a uniform-grid weight step (RTN,
 * GPTQ) without RPTQ's cluster groups keeps each layer packed (packedLinear.ts: codes, a scale and a zero per group,
 * scales in 16 bits with --f16_scales); null when the recipe's layers stay dense or their groups depend on the data.
 */
export function predictQuantizedLayers(cfg: ModelConfig, r: QuantRecipe): number | null {
  const step = r.steps.find((s) => s.method === 'rtn' || s.method === 'gptq') as
    { method: string; wbits?: number; groupsize?: number } | undefined;
  if (!step || r.steps.some((s) => s.method === 'rptq')) return null;
  const bits = step.wbits ?? 4;
  const gs = step.groupsize ?? -1;
  const shapes = linearShapes(cfg);
  let total = 0;
  for (const role of linearRoles(cfg.family)) {
    const [N, K] = shapes[role]!;
    const G = gs > 0 ? Math.ceil(K / gs) : 1;
    total += packedBytes({ N, K, G, bits, scales16: !!r.scales16 });
  }
  return total * (r.hiddenLayerNum ?? cfg.layers);
}
