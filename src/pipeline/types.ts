// What crosses the worker boundary and what the CLI writes: plain, serializable summaries only.
import type { QuantRecipe } from '../quant/recipe.ts';
import type { SiteReport } from '../quant/siteReport.ts';
import type { PackingOptions, TaskScore } from '../eval/zeroShot.ts';
import type { GenerateSettings, Generation } from '../eval/generate.ts';
import type { WeightStorage } from '../model/weights.ts';
import type { ModelConfig } from '../model/config.ts';

export type { TaskScore };

/**
 * The stages of a run in the order they run, each once: load the model, evaluate it at full precision (before a
 * method), calibrate and quantize block by block, evaluate (the quantized model, or the model itself), then the
 * baselines (each quantized and evaluated in turn).
 */
export const STAGES = ['load', 'fp', 'quantize', 'evaluate', 'baselines'] as const;
export type Stage = (typeof STAGES)[number];

/** The stages an experiment passes through, in order (what the page lists before they start). */
export function plannedStages(p: { quantize: boolean; before: boolean; baselines: boolean }): Stage[] {
  return STAGES.filter(
    (s) =>
      (s !== 'fp' || (p.quantize && p.before)) &&
      (s !== 'quantize' || p.quantize) &&
      (s !== 'baselines' || p.baselines),
  );
}

export interface Progress {
  stage: Stage;
  /** human-readable step, e.g. "tinystories window 3/81" */
  label: string;
  /** 0..1 within the stage */
  fraction: number;
  /** this step was restored from the cache, not computed (a basis for no time estimate) */
  fromCache?: boolean;
  /** quantize: where this recipe's finished blocks are kept (cache key prefix), so the page can count them later */
  blockKey?: string;
  /** quantize: the blocks of the model */
  blocks?: number;
  loadedBytes?: number;
  totalBytes?: number;
  /** quantize, learnable weight clipping: the block in training and its mean loss per epoch so far */
  training?: { layer: number; losses: number[]; epochs: number };
  /** generation: the text a model has written so far ('fp' or 'quant'), and its tokens */
  generated?: { model: 'fp' | 'quant'; text: string; tokens: number };
  /** zero-shot scoring: the task and its items done so far */
  items?: { phase: string; task: string; done: number; total: number; perSecond: number };
}

export interface EvalRequest {
  datasets: string[];
  /** evaluation window length; defaults to the recipe's seqlen */
  seqlen?: number;
  /** skip the full-precision evaluation that precedes quantization (the figure is then absent from pplBefore) */
  skipBefore?: boolean;
  /** the quantization experiment; absent = full precision */
  recipe?: QuantRecipe;
  /** first k windows only */
  windows?: number;
  checkFinite?: boolean;
  /** bytes of f32 weights to keep resident on the GPU (default 2 GiB); beyond it blocks stream per window */
  maxResidentBytes?: number;
  /** 'webgpu' (default) or the CPU reference (the kernels' TypeScript twins, forward and quantization alike) */
  backend?: 'webgpu' | 'reference';
  /** also quantize and evaluate these baselines of the recipe's transform (RPTQ: contiguous, tensor) */
  baselines?: string[];
  /** zero-shot tasks scored after perplexity (lm-eval names) */
  tasks?: string[];
  /** the first N items of each task */
  limit?: number;
  /** how zero-shot requests are packed (results do not depend on it) */
  packing?: PackingOptions;
  /** weight storage on the GPU: auto (a checkpoint's own 16 bits, f32 for F32), f16, or f32 (see WeightStore) */
  weights?: WeightStorage;
  /** bind at most this many bytes per tensor (below the adapter's limit): the vocabulary splits into more chunks */
  maxBindingBytes?: number;
  /** text to continue, with both models when a method runs (the full-precision one and the quantized one) */
  generate?: GenerateRequest;
}

export interface GenerateRequest extends GenerateSettings {
  prompt: string;
}

/** One model's continuation of the prompt. */
export interface Continuation extends Generation {
  /** log p of each new token under the other model (teacher-forced), when the run has both */
  otherLogProbs?: number[];
}

/** Generation beside full precision: the prompt, the settings and each model's continuation. */
export interface GenerationReport extends GenerateRequest {
  promptTokens: number;
  /** the full-precision model's (absent when its evaluation was skipped) */
  fp?: Continuation;
  /** the quantized model's, when a method ran */
  quant?: Continuation;
  /** the first new token where the two differ (absent when they agree or one is missing) */
  divergeAt?: number;
}

export interface DeviceSummary {
  description: string;
  software: boolean;
  shaderF16: boolean;
}

export interface LayerReport {
  layer: number;
  /** HF name: q_proj, fc2, down_proj… */
  linear: string;
  /** ‖XWᵀ − XŴᵀ‖ / ‖XWᵀ‖ on the calibration inputs */
  relError: number;
  ms: number;
  /**
   * bits per weight stored: the codes plus each group's f16 scale and zero (CLAQ: codes, codebooks, reserved values)
   */
  bits: number;
  /** of which the codes (wbits; 16 when the layer is not quantized) */
  codeBits: number;
  /** (scale, zero) groups per output row: 1 per row, K / groupsize, or RPTQ's input clusters (0: CLAQ's codebooks) */
  groups: number;
  /** R·K: the weight of this layer in a block's or the model's bits per weight */
  weights?: number;
  /**
   * with a trained clip (--lwc): relError of the same layer quantized without it (DuQuant's static clip swc 0.8, or
   * RTN's plain grid), on the same inputs
   */
  relErrorUntrained?: number;
}

/**
 * A step's report, told apart by its kind: a transform's (its per-block reports and time) or a weight step's (where
 * its time went). The Inspect panel picks the method's view by the method's name.
 */
export type StepReport =
  | { kind: 'transform'; method: string; report: TransformStepReport }
  | { kind: 'weight'; method: string; report: WeightStepReport };

/** A step's kind: results kept from before steps carried one are told apart by their report's shape. */
export function kindOf(s: StepReport | { kind?: undefined; method: string; report: unknown }): StepReport['kind'] {
  return s.kind ?? (Array.isArray((s.report as Partial<TransformStepReport>)?.blocks) ? 'transform' : 'weight');
}

/** A transform's report: its per-block reports (RPTQ: every site's ranges, clusters and errors) and its time. */
export interface TransformStepReport<R = unknown> {
  blocks: R[];
  ms: number;
}

/** A weight step's report: where its time went. */
export interface WeightStepReport {
  hessianMs: number;
  factorMs: number;
  loopMs: number;
  /** where the Hessians were factorized (gpu, cpu, or both across layers) and how auto chose */
  factorization?: string;
  /** learnable weight clipping, when the weight step asked for it */
  clipTraining?: ClipTrainingReport;
}

/** Learnable weight clipping's training over the blocks. */
export interface ClipTrainingReport {
  /** how the lab resolved the options, when not by training (--swc takes precedence over --lwc) */
  note?: string;
  /** each block trained: the mean loss of every epoch, and why it stopped early if it did */
  blocks: { layer: number; losses: number[]; stopped?: string }[];
  /** time in training steps: forward, backward (to the bounds) and the optimizer, and the steps taken */
  ms: { forward: number; backward: number; optimizer: number };
  steps: number;
}

export interface QuantSummary {
  /** the chain of methods, e.g. "rptq+gptq" */
  method: string;
  /** one report per step, in the recipe's order */
  steps: StepReport[];
  layers: LayerReport[];
  totalMs: number;
  calibrationTokens: number;
  /** every site's channel ranges, when no transform reported them (the Inspect views of any run) */
  ranges?: SiteReport[];
  /** blocks restored from the cache instead of recomputed */
  cachedBlocks?: number;
  /** where the finished blocks are kept (cache key prefix), for the Inspect views */
  blockKey?: string;
  /** bytes the packed layers saved on the GPU against their dense copies (packedLinear.ts) */
  packedSavedBytes?: number;
  /** layers kept dense although their step has a grid, and why */
  unpacked?: string[];
}

/** A step's report by method name. */
export function stepReport<R>(q: QuantSummary | undefined, method: string): R | undefined {
  return q?.steps.find((s) => s.method === method)?.report as R | undefined;
}

/** The run's step of a kind (its method's name and report), when it has one. */
export function stepOf(q: QuantSummary | undefined, kind: StepReport['kind']): StepReport | undefined {
  return q?.steps.find((x) => kindOf(x) === kind);
}

/** The transform's report, whichever transform ran. */
export function transformReport<R>(q: QuantSummary | undefined): TransformStepReport<R> | undefined {
  return stepOf(q, 'transform')?.report as TransformStepReport<R> | undefined;
}

/** A weight step's report, whichever weight step ran. */
export function weightReport(q: QuantSummary | undefined): WeightStepReport | undefined {
  return stepOf(q, 'weight')?.report as WeightStepReport | undefined;
}

/** Bytes of the model as stored: the checkpoint, and the quantized model (its layers at their bits per weight). */
export interface StorageSize {
  /** every tensor of the checkpoint as its files store it */
  checkpointBytes: number;
  /** bits per weight of the checkpoint's decoder linear layers (32 for F32, 16 for F16/BF16) */
  checkpointBits: number;
  /** the checkpoint with each quantized layer at its bits per weight (codes + scales/zeros or codebooks) */
  quantizedBytes?: number;
}

export interface EvalResult {
  model: string;
  modelType: string;
  parameters: number;
  config: {
    wbits: number;
    abits: number;
    seqlen: number;
    windows?: number;
    backend: string;
    recipe?: QuantRecipe;
    steps?: string;
    limit?: number;
    weights?: string;
  };
  /** perplexity of the evaluated model (quantized when a method ran) */
  ppl: Record<string, number>;
  /** full-precision perplexity measured in the same run, when a method ran */
  pplBefore?: Record<string, number>;
  /** the full-precision figures came from the cache: the identical evaluation ran before */
  fpCached?: boolean;
  /** the config the run used (its widths decide what an export can hold; its family names the layers) */
  modelConfig?: ModelConfig;
  /** what the model takes stored: the checkpoint's bytes, the same with the quantized layers at their bits */
  storage?: StorageSize;
  /** zero-shot figures of the evaluated model, by task */
  tasks?: Record<string, TaskScore>;
  /** full-precision zero-shot figures measured in the same run, when a method ran */
  tasksBefore?: Record<string, TaskScore>;
  quant?: QuantSummary;
  /** the model is a GPTQ checkpoint (its layers dequantized from packed codes): what it was quantized with */
  checkpoint?: { format: 'gptq'; bits: number; groupSize: number; descAct: boolean; sym: boolean };
  /** the transform's baselines measured in the same run (RPTQ: the same recipe with another channel grouping) */
  baselines?: {
    name: string;
    label: string;
    ppl: Record<string, number>;
    tasks?: Record<string, TaskScore>;
    layers: LayerReport[];
  }[];
  windows: Record<string, number>;
  timings: { loadMs: number; evalMs: Record<string, number>; tokensPerSecond: number };
  device: DeviceSummary | null;
  peakGpuBytes: number;
  /**
   * the decoder's linear weights on the GPU: as loaded (dense, the checkpoint's storage), after quantization (packed
   * layers at their codes, scales and zeros), and what the lab predicted for them before the run
   */
  gpuLayers?: { loadedBytes: number; quantizedBytes: number; predictedBytes?: number };
  /** the continuations of the request's prompt */
  generation?: GenerationReport;
  /** the whole result came from the cache (an identical experiment ran before) */
  cached?: boolean;
  /** things the run worked around and the user should know (a full cache, …) */
  warnings?: string[];
  /**
   * what the figures themselves carry and every view of them must say (calibration text overlapping an evaluation text)
   */
  caveats?: string[];
}
