// What crosses the worker boundary and what the CLI writes: plain, serializable summaries only.
import type { QuantRecipe } from '../quant/recipe.ts';
import type { Clustering, SiteReport } from '../quant/rptq.ts';

export type Stage = 'load' | 'quantize' | 'evaluate';

export interface Progress {
  stage: Stage;
  /** human-readable step, e.g. "tinystories window 3/81" */
  label: string;
  /** 0..1 within the stage */
  fraction: number;
  loadedBytes?: number;
  totalBytes?: number;
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
  /** 'webgpu' (default) or the CPU reference forward */
  backend?: 'webgpu' | 'reference';
  /** RPTQ: also quantize and evaluate these channel groupings (the baselines without reorder: contiguous, tensor) */
  baselines?: Clustering[];
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
  /** bits per weight stored: the codes plus each group's f16 scale and zero */
  bits: number;
  /** of which the codes (wbits; 16 when the layer is not quantized) */
  codeBits: number;
  /** (scale, zero) groups per output row: 1 per row, K / groupsize, or RPTQ's input clusters */
  groups: number;
}

export interface QuantSummary {
  method: string;
  layers: LayerReport[];
  hessianMs: number;
  factorMs: number;
  loopMs: number;
  totalMs: number;
  calibrationTokens: number;
  /** RPTQ: range statistics, clustering and activation errors of every site of every block */
  activations?: SiteReport[];
  /** RPTQ: time in statistics, k-means and the activation-error pass */
  statsMs?: number;
  /** blocks restored from the cache instead of recomputed */
  cachedBlocks?: number;
  /** where the finished blocks are kept (cache key prefix), for the Inspect views */
  blockKey?: string;
}

export interface EvalResult {
  model: string;
  modelType: string;
  parameters: number;
  config: { wbits: number; abits: number; seqlen: number; windows?: number; backend: string; recipe?: QuantRecipe };
  /** perplexity of the evaluated model (quantized when a method ran) */
  ppl: Record<string, number>;
  /** full-precision perplexity measured in the same run, when a method ran */
  pplBefore?: Record<string, number>;
  quant?: QuantSummary;
  /** RPTQ's baselines measured in the same run: the same recipe with another channel grouping */
  baselines?: { clustering: Clustering; ppl: Record<string, number>; layers: LayerReport[] }[];
  windows: Record<string, number>;
  timings: { loadMs: number; evalMs: Record<string, number>; tokensPerSecond: number };
  device: DeviceSummary | null;
  peakGpuBytes: number;
  /** the whole result came from the cache (an identical experiment ran before) */
  cached?: boolean;
  /** things the run worked around and the user should know (a full cache, …) */
  warnings?: string[];
  /** what the figures themselves carry and every view of them must say (calibration text overlapping an evaluation text) */
  caveats?: string[];
}
