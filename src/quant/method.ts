// What a quantization method is, for the pipeline: one module that exports its name, its options (a zod schema with
// defaults, bounds and descriptions: the single source of the CLI's flags, the page's fields, share-link validation
// and labels), its cross-field rules, a short label, and the hooks the pipeline calls. Two kinds of steps make a
// recipe, at most one of each, in this order:
//   a transform changes a block and its activation path (RPTQ's reorder and activation quantizers; DuQuant's
//     rotations): statistics through the forward's taps, what folds into the weights, activation quantizers, and
//     possibly a constraint on the weight step (RPTQ: one scale per output row × input cluster);
//   a weight step quantizes one linear layer at a time (RTN, GPTQ; CLAQ), with a Hessian when it asks for one.
// Register a method once in quant/index.ts.
import type { z } from 'zod';
import type { Backend } from '../gpu/backend.ts';
import type { LinearRole } from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import type { ActSite } from '../model/taps.ts';
import type { BlockWeights, HostActQuant, HostBlock, TokenQuant } from '../model/weights.ts';

/** Fixed weight groups of any shape: each input column's group (RPTQ: the input clusters). */
export interface ColumnGroups {
  colGroup: Uint32Array; // [K]
  groups: number;
  /** DuQuant's static clip (swc): each group's range is its raw min and max times this, not widened to 0 */
  clip?: number;
  /**
   * learnable weight clipping's trained bounds [R, groups, 2] (up, low): each group's range is [σ(low)·min,
   * σ(up)·max], not widened to 0
   */
  bounds?: Float32Array;
}

/**
 * Learnable weight clipping's training (methods.md, "Learnable weight clipping"), when a weight step asks for it: per
 * block, AdamW on each (row, group)'s clip bounds against the full-precision block's output.
 */
export interface ClipTraining {
  epochs: number;
  lr: number;
  wd: number;
  /** also match the full-precision block's output on the quantized stream's input */
  augLoss: boolean;
  /** columns per (scale, zero) group of the weight step's own grid (K: per row) */
  groupsize: number;
}

/** A one-click setting of the seed tables: the steps (by method) and the options they set. */
export interface Preset {
  label: string;
  steps: ({ method: string } & Record<string, unknown>)[];
}

/** What a method's checks can see. */
export interface CheckContext {
  /** the model's config, once known: widths and head counts bound some options */
  cfg?: ModelConfig;
  /** the transform before this weight step, when it fixes the weight groups (RPTQ, DuQuant), and why */
  groupsFixedBy?: { by: string; why: string; clipped?: boolean };
  /** throws OptionsError with a message that names flags as --flag (the page rewrites them into its words) */
  bad(message: string): never;
}

interface MethodBase<S extends z.ZodObject> {
  /** registry key and CLI word: --method rtn, --method rptq+gptq */
  readonly name: string;
  /** as papers write it: RTN, GPTQ, RPTQ */
  readonly title: string;
  /** one line for usage text and the form */
  readonly summary: string;
  readonly options: S;
  /** rules across options, and against the model's widths when the config is known */
  check?(o: z.infer<S>, ctx: CheckContext): void;
  /** the options in the experiment line, e.g. "damp 0.01 block 128 act-order" (empty: nothing to add) */
  describe(o: z.infer<S>): string;
  readonly presets?: Preset[];
}

/**
 * One linear layer as a weight step sees it: full-precision weights (after any transform), on the host and the backend.
 */
export interface LinearInput<T> {
  /** HF name (q_proj, fc2…) for messages */
  name: string;
  role: LinearRole;
  /** [R, K] on the host */
  W: Float32Array;
  /** the same weights on the backend */
  Wt: T;
  shape: [number, number];
  /** H = (2/n) Σ xᵀx over the calibration inputs, when the method asked for it */
  H?: Float64Array;
  /** groups the transform fixed (RPTQ's input clusters) */
  groups?: ColumnGroups;
  /** the recipe's seed (CLAQ's k-means seeding) */
  seed: number;
}

/**
 * The uniform grid a layer was quantized on, what a GPTQ checkpoint stores: (scale, zero) per output row and group,
 * and each input column's group in the original column order (act-order's permutation shows only here).
 */
export interface LayerGrid {
  params: Float32Array; // [R, groups, 2]
  gIdx: Uint32Array; // [K]
  maxq: number;
  sym: boolean;
}

export interface WeightResult<T> {
  /** dequantized weights [R, K] on the backend */
  Q: T;
  /** the grid behind Q (uniform-grid methods: RTN, GPTQ), for export */
  grid?: LayerGrid;
  factorMs?: number;
  loopMs?: number;
  /** the factorization's route (GPTQ's loop), and how auto chose it (once per run) */
  factorization?: { route: 'gpu' | 'cpu'; note?: string };
  /** exact bits per weight, when the method counts them itself (CLAQ's codebooks and reserved values) */
  bits?: number;
  /** of which the codes, on average */
  codeBits?: number;
  /** what the method's Inspect view shows of this layer (kept with the cached block, not in the run's summary) */
  detail?: unknown;
}

/** The same step with other settings, or another method in its place, measured in the same run. */
export interface Baseline {
  name: string;
  options: Record<string, unknown>;
  /** another registered method in the step's place (CLAQ: GPTQ); absent: the same method */
  method?: string;
}

export interface WeightMethod<S extends z.ZodObject = z.ZodObject> extends MethodBase<S> {
  readonly kind: 'weight';
  /** its layers land on a uniform grid per row and group (the codes and scales a GPTQ checkpoint packs) */
  readonly uniformGrid?: boolean;
  /**
   * the seed projects' flag that asks for this step when --method is not given: --nearest (RTN), or --wbits below 16
   * alone (GPTQ)
   */
  readonly seedFlag?: 'nearest' | 'wbits';
  /** options that define the weight groups: a transform that fixes the groups leaves them at their defaults */
  readonly groupOptions: readonly string[];
  needsHessian(o: z.infer<S>): boolean;
  /** true-sequential: q/k/v → o → gate/up → down, each on inputs recomputed after the previous group */
  sequential(o: z.infer<S>): boolean;
  /** bits of each weight's code */
  codeBits(o: z.infer<S>): number;
  /** (scale, zero) groups per output row of a layer with K inputs */
  groups(o: z.infer<S>, K: number, fixed?: ColumnGroups): number;
  /** "W4 g128" */
  label(o: z.infer<S>): string;
  /** what the recipe's name adds after the method's ("LWC": RTN+LWC W4, DuQuant+LWC W4A4); null: nothing */
  tag?(o: z.infer<S>): string | null;
  quantize<T>(be: Backend<T>, layer: LinearInput<T>, o: z.infer<S>): Promise<WeightResult<T>>;
  /** what the method is compared with in the same run (--baselines) */
  baselines?(o: z.infer<S>): Baseline[];
  /** learnable weight clipping's training, when these options ask for it (absent or null: none) */
  clipTraining?(o: z.infer<S>): ClipTraining | null;
}

/** A transform's work on one block, at the point the pipeline hands it over. */
export interface TransformContext<T> {
  be: Backend<T>;
  decoder: Decoder<T>;
  layer: number;
  /** the block on the backend, full precision, as the previous blocks' outputs reach it */
  block: BlockWeights<T>;
  host: HostBlock;
  /** the block's calibration inputs (outputs of the already-quantized blocks) */
  inputs: T[];
  /** the recipe's seed */
  seed: number;
  /** what prepare returned (statistics of the full-precision model) */
  prepared?: unknown;
  /** the mean over calibration windows of the embeddings, through the already-quantized blocks (usesMeanInput) */
  meanInput?: T;
  /** code bits of the chain's weight step (absent: no weight step), for transforms fitted against quantized weights */
  weightBits?: number;
  /** the weight step trains its clip (learnable weight clipping) unless the transform fixes a static one */
  weightTrainsClip?: boolean;
}

/** What a transform's prepare sees: the full-precision model, before any block is quantized. */
export interface PrepareContext<T> {
  be: Backend<T>;
  /** the decoder; its weight store reads the checkpoint's blocks (hostBlock, upload) */
  decoder: Decoder<T>;
  /** blocks the recipe quantizes */
  layers: number;
  /** calibration windows (token ids) */
  windows: Uint32Array[];
}

export interface TransformedBlock<R> {
  /** the block's full-precision weights with the transform folded in */
  host: HostBlock;
  /** activation quantizers, turned on after the weights are quantized */
  act?: Partial<Record<ActSite, HostActQuant | TokenQuant>>;
  probLevels?: number;
  /** fixed weight groups per linear layer, in the folded column order */
  weightGroups?: Partial<Record<LinearRole, ColumnGroups>>;
  /** what the Inspect views show of this block */
  report: R[];
  /**
   * what refold needs to fold the same transform into the checkpoint's block again (serializable, kept with the block)
   */
  fold?: unknown;
}

export interface TransformMethod<S extends z.ZodObject = z.ZodObject, R = unknown> extends MethodBase<S> {
  readonly kind: 'transform';
  /**
   * the weight step's groups are the transform's, and why (RPTQ: per output row × input cluster); false: the weight
   * step's own
   */
  readonly fixesWeightGroups: false | string;
  /** the weight step's rows use the transform's clipped raw range (DuQuant's swc): no symmetric grid */
  readonly clipsWeights?: boolean;
  /** statistics of the full-precision model over the calibration windows, computed once before the first block */
  prepare?<T>(ctx: PrepareContext<T>, o: z.infer<S>): Promise<unknown>;
  /** the transform fits on the mean calibration input propagated through the quantized blocks (DuQuant) */
  readonly usesMeanInput?: boolean;
  /** the weight step the reference code uses after this transform: "RPTQ W4A4" means RPTQ then GPTQ */
  readonly defaultWeight: string;
  /** activation bits, for reports (16: activations stay full precision) */
  activationBits(o: z.infer<S>): number;
  /** "W4A4KV", given the weight step's code bits (16 without one) */
  label(o: z.infer<S>, wbits: number): string;
  /** the same transform with other settings, measured in the same run (RPTQ: groupings without reorder) */
  baselines?(o: z.infer<S>): Baseline[];
  block<T>(ctx: TransformContext<T>, o: z.infer<S>): Promise<TransformedBlock<R>>;
  /** the blocks' reports as a text table (what the command line prints) */
  summarize?(report: R[]): string;
  /**
   * the checkpoint's block with a recorded fold applied again (the Inspect views compare quantized weights to these)
   */
  refold(host: HostBlock, fold: unknown, cfg: ModelConfig): HostBlock;
  /**
   * The quantized block's linear layers back in the checkpoint's basis, when the fold is a pure reorder (RPTQ): what a
   * plain fake-quantized checkpoint stores. Absent: the transform cannot be written as a plain checkpoint (DuQuant's
   * online rotations).
   */
  unfold?(linears: HostBlock['linears'], fold: unknown, cfg: ModelConfig): HostBlock['linears'];
}

export type Method = WeightMethod | TransformMethod;
