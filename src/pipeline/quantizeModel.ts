// Sequential block processing (GPTQ protocol) as a loop over a recipe of steps, on any backend. Block i is calibrated
// on the outputs of the already-quantized blocks 0..i−1; its inputs are captured once through the forward's taps and
// memory holds one block plus its calibration activations. Per block:
//   calibrate → transform (statistics, fold, a constraint on the weight groups) → train the clip when the weight step
//   learns it (learnable weight clipping, against the full-precision stream) → for each true-sequential group,
//   Hessians if the weight step needs them → quantize → install the activation quantizers → measure every layer's
//   output error (and each site's channel ranges) → cache.
// No method is named here: each is a registered module (quant/index.ts) that this loop calls through its hooks.
import type { Backend } from '../gpu/backend.ts';
import { familyOf, linearName, linearRoles, linearShapes, type LinearRole } from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import { tapIn, type TapPoint } from '../model/taps.ts';
import {
  denseW,
  releaseBlock,
  uploadActQuant,
  type BlockWeights,
  type HostBlock,
  type Linear,
  type WeightStore,
} from '../model/weights.ts';
import { CancelledError } from '../errors.ts';
import { HessianAccumulator } from '../quant/gptq.ts';
import { rangeReports, SiteRangeCollector, sumPairs } from '../quant/activationStats.ts';
import { chainOf, resolveSteps, type BoundTransform, type BoundWeight, type QuantRecipe } from '../quant/recipe.ts';
import type { ClipTraining, ColumnGroups, LayerGrid, TransformedBlock } from '../quant/method.ts';
import { contiguousGroups, fitColumnGroups, packGrid } from '../quant/grid.ts';
import type { HostPacked } from '../model/packedLinear.ts';
import { trainClip } from '../quant/lwc.ts';
import { quantize as quantizeValue } from '../gpu/reference.ts';
import { roundToHalf } from '../gpu/half.ts';
import type { SiteReport } from '../quant/siteReport.ts';
import type { ClipTrainingReport, LayerReport, QuantSummary, WeightStepReport } from './types.ts';

/** A finished block as the cache keeps it: quantized weights (and activation quantizers) plus its reports. */
export interface CachedBlock {
  host: HostBlock;
  layers: LayerReport[];
  /** the transform's report of this block (RPTQ: its sites) and what re-applies its fold (RPTQ: the permutations) */
  transform?: { method: string; report: unknown[]; fold?: unknown };
  /** channel ranges of every site, when no transform reported them */
  ranges?: SiteReport[];
  /** the weight step's per-layer detail, by HF linear name (CLAQ: codebooks, column bits, reserved values) */
  weight?: Record<string, unknown>;
  /** the uniform grid of each layer, by HF linear name (RTN, GPTQ): what a GPTQ-format export packs */
  grids?: Record<string, LayerGrid>;
  /** learnable weight clipping: the loss of each epoch and the trained bounds by HF linear name ([R, groups, 2]) */
  clipTraining?: { losses: number[]; stopped?: string; bounds: Record<string, Float32Array> };
}

export interface BlockCache {
  /** the key prefix of this recipe's blocks (the Inspect views read a finished block back by it) */
  key: string;
  load(layer: number): Promise<CachedBlock | undefined>;
  save(layer: number, block: CachedBlock): Promise<void>;
}

export interface QuantizeContext<T> {
  decoder: Decoder<T>;
  weights: WeightStore<T>;
  /** `fromCache`: the block was restored, not recomputed */
  onBlock?: (done: number, total: number, layers: LayerReport[], fromCache: boolean) => void;
  /** learnable weight clipping: a block's mean loss per epoch so far, after each epoch */
  onTraining?: (layer: number, losses: number[], epochs: number) => void;
  signal?: AbortSignal;
  /** finished blocks from an earlier run of the same recipe are restored instead of recomputed */
  cache?: BlockCache;
  /** false: keep every quantized layer dense (the packed form is the default for uniform grids) */
  pack?: boolean;
}

/** One block as it goes through the stages: its weights on the backend and the host, and what the stages found. */
interface BlockInProgress<T> {
  layer: number;
  block: BlockWeights<T>;
  /** the full-precision weights after the transform: the weight step's input and the output error's reference */
  host: HostBlock;
  transformed: TransformedBlock<unknown> | null;
  /** the weight groups the transform fixed (RPTQ's input clusters) */
  fixed: Partial<Record<LinearRole, ColumnGroups>>;
  /** per layer: its time, what the weight step counted itself (exact bits), its detail and grid */
  ms: Map<LinearRole, number>;
  counted: Map<LinearRole, { bits?: number; codeBits?: number }>;
  details: Record<string, unknown>;
  grids: Record<string, LayerGrid>;
  /** the trained clip (learnable weight clipping) and each layer as it would be quantized without it */
  trained?: { losses: number[]; stopped?: string; bounds: Record<string, Float32Array> };
  untrained: Map<LinearRole, Float32Array>;
}

/**
 * The run of a recipe over the blocks, as named stages: restore a cached block, transform, quantize a true-sequential
 * group, install the activation quantizers, measure, save. quantizeModel calls them in that order for each block.
 */
class QuantizeRun<T> {
  readonly be: Backend<T>;
  readonly cfg: ModelConfig;
  readonly roles: LinearRole[];
  readonly transform: BoundTransform | undefined;
  readonly weight: BoundWeight | undefined;
  readonly summary: QuantSummary;
  readonly transformReport = { blocks: [] as unknown[], ms: 0 };
  readonly weightReport: WeightStepReport = { hessianMs: 0, factorMs: 0, loopMs: 0 };
  /** the calibration windows' hidden states as they reach the current block */
  inputs: T[] = [];
  /** DuQuant's rotation input: the windows' mean embedding, then each quantized block's output of it */
  meanInput: T | undefined;
  /** learnable weight clipping's training, when the weight step asks for it */
  readonly training: ClipTraining | null;
  /** with training: the windows through the full-precision blocks (the targets' inputs) */
  fpInputs: T[] = [];
  readonly trainingReport: ClipTrainingReport | undefined;
  private prepared: Promise<unknown> | undefined;

  constructor(
    readonly r: QuantRecipe,
    readonly calib: Uint32Array[],
    readonly ctx: QuantizeContext<T>,
  ) {
    this.be = ctx.decoder.be;
    this.cfg = ctx.decoder.cfg;
    this.roles = linearRoles(this.cfg);
    ({ transform: this.transform, weight: this.weight } = resolveSteps(r));
    this.summary = { method: chainOf(r), steps: [], layers: [], totalMs: 0, calibrationTokens: 0 };
    if (this.transform)
      this.summary.steps.push({ kind: 'transform', method: this.transform.method.name, report: this.transformReport });
    if (this.weight)
      this.summary.steps.push({ kind: 'weight', method: this.weight.method.name, report: this.weightReport });
    this.training = this.weight?.clipTraining() ?? null;
    if (this.training)
      this.weightReport.clipTraining = this.trainingReport = {
        blocks: [],
        ms: { forward: 0, backward: 0, optimizer: 0 },
        steps: 0,
      };
    if (ctx.cache) this.summary.blockKey = ctx.cache.key;
  }

  checkCancel(): void {
    if (this.ctx.signal?.aborted) throw new CancelledError('quantization cancelled');
  }

  /** Calibrate: the windows embedded, and the mean input when the transform fits on it. */
  async embedCalibration(): Promise<void> {
    for (const w of this.calib) this.inputs.push(await this.ctx.decoder.embed(w));
    this.summary.calibrationTokens = this.calib.length * (this.calib[0]?.length ?? 0);
    if (this.transform?.method.usesMeanInput) this.meanInput = await meanOf(this.be, this.inputs);
    if (this.training) this.fpInputs = this.inputs.map((x) => this.be.rows(x, 0, this.be.shape(x)[0]));
  }

  /** The full-precision stream through the checkpoint's block `layer`, when training needs it. */
  private async advanceFp(layer: number, fpBlock?: BlockWeights<T>): Promise<void> {
    if (!this.training) return;
    const { weights, decoder } = this.ctx;
    const block = fpBlock ?? weights.upload(await weights.hostBlock(layer));
    for (const x of this.fpInputs) await decoder.block(layer, x, block);
    if (!fpBlock) releaseBlock(this.be, block);
  }

  /** Each input through block `layer` as it now is: the next block's inputs. */
  private async advance(layer: number, block: BlockWeights<T>): Promise<void> {
    for (const x of this.meanInput ? [...this.inputs, this.meanInput] : this.inputs)
      await this.ctx.decoder.block(layer, x, block);
  }

  /** Restore: a block an earlier run finished only has to produce the next block's inputs. */
  async restore(layer: number, cached: CachedBlock): Promise<void> {
    const { weights } = this.ctx;
    const block = weights.upload(cached.host);
    weights.replace(layer, block);
    // through the dense block, as a run that computed it advanced (the packed one differs in summation order)
    await this.advance(layer, block);
    this.pack(block, cached.grids ?? {}, (role) => cached.host.linears[role]!.W);
    await this.advanceFp(layer);
    if (cached.clipTraining)
      this.trainingReport?.blocks.push({
        layer,
        losses: cached.clipTraining.losses,
        ...(cached.clipTraining.stopped ? { stopped: cached.clipTraining.stopped } : {}),
      });
    // blocks cached before layers carried their size count by it all the same
    const sized = cached.layers.map((l) => ({
      ...l,
      weights: l.weights ?? layerSize(cached.host, l.linear, this.cfg),
    }));
    this.summary.layers.push(...sized);
    this.transformReport.blocks.push(...(cached.transform?.report ?? []));
    if (cached.ranges) (this.summary.ranges ??= []).push(...cached.ranges);
    this.summary.cachedBlocks = (this.summary.cachedBlocks ?? 0) + 1;
  }

  /**
   * Pack: a finished block's layers on a uniform grid (RTN, GPTQ, the transforms' weight steps) kept as their codes,
   * scales and zero points; their dense copies leave the backend. A layer the packed form cannot hold stays dense and
   * the summary says why.
   */
  pack(block: BlockWeights<T>, grids: Record<string, LayerGrid>, dense: (role: LinearRole) => Float32Array): void {
    if (this.ctx.pack === false) return;
    const layers: Partial<Record<LinearRole, HostPacked>> = {};
    for (const role of this.roles) {
      const name = linearName(this.cfg, role);
      const grid = grids[name];
      if (!grid) continue;
      const [N, K] = linearShapes(this.cfg)[role]!;
      const h = packGrid(dense(role), grid, N, K);
      if (typeof h === 'string') (this.summary.unpacked ??= []).push(`${name}: ${h}`);
      else layers[role] = h;
    }
    const saved = this.ctx.weights.pack(block, layers);
    this.summary.packedSavedBytes = (this.summary.packedSavedBytes ?? 0) + saved;
  }

  /** Transform: statistics, the fold into the weights, a constraint on the weight groups (no transform: as is). */
  async transformBlock(layer: number): Promise<BlockInProgress<T>> {
    const { be, cfg, transform, weight, ctx } = this;
    const { weights, decoder } = ctx;
    const b: BlockInProgress<T> = {
      layer,
      block: await weights.block(layer),
      host: await weights.hostBlock(layer),
      transformed: null,
      fixed: {},
      ms: new Map(),
      counted: new Map(),
      details: {},
      grids: {},
      untrained: new Map(),
    };
    if (!transform) return b;
    const t = performance.now();
    // a transform's statistics of the full-precision model, computed when the first block not cached needs them
    const windows = this.calib;
    this.prepared ??= transform.prepare({ be, decoder, layers: cfg.layers, windows });
    b.transformed = await transform.block({
      be,
      decoder,
      layer,
      block: b.block,
      host: b.host,
      inputs: this.inputs,
      seed: this.r.seed,
      prepared: await this.prepared,
      meanInput: this.meanInput,
      // whole bits (CLAQ's adaptive 2.1 fits as 2)
      weightBits: weight ? Math.round(weight.codeBits()) : undefined,
      weightTrainsClip: !!this.training,
    });
    this.transformReport.blocks.push(...b.transformed.report);
    // the transform folded into the weights; activations stay in full precision until the weights are quantized
    b.host = b.transformed.host;
    b.block = weights.upload(b.host);
    weights.replace(layer, b.block);
    b.fixed = b.transformed.weightGroups ?? {};
    this.transformReport.ms += performance.now() - t;
    return b;
  }

  /**
   * Train the clip (learnable weight clipping): the block's bounds against the full-precision block's output, then
   * each layer's groups carry them to the weight step. A transform's static clip (--swc) takes precedence, as the
   * reference's; the full-precision stream advances either way.
   */
  async trainClip(b: BlockInProgress<T>): Promise<void> {
    const { be, cfg, ctx, training, trainingReport: report } = this;
    if (!training || !report) return;
    const { weights, decoder } = ctx;
    const fpBlock = weights.upload(await weights.hostBlock(b.layer));
    try {
      const swc = Object.values(b.fixed).find((g) => g?.clip !== undefined)?.clip;
      if (swc !== undefined) {
        report.note = `--swc ${swc} takes precedence over --lwc, as in the reference: the static clip, no training`;
        await this.advanceFp(b.layer, fpBlock);
        return;
      }
      const view: BlockWeights<T> = { ...b.block, act: b.transformed?.act && uploadActQuant(be, b.transformed.act) };
      // a transform's fixed groups (DuQuant: one per row), else the weight step's contiguous groups
      const fixedGroups = Object.keys(b.fixed).length > 0;
      const groupsize = (K: number) => (fixedGroups || training.groupsize <= 0 ? K : training.groupsize);
      const res = await trainClip({
        be,
        decoder,
        layer: b.layer,
        host: b.host,
        block: view,
        fpBlock,
        inputs: this.inputs,
        fpInputs: this.fpInputs,
        groupsize,
        bits: Math.round(this.weight!.codeBits()),
        training,
        signal: ctx.signal,
        onEpoch: (losses) => ctx.onTraining?.(b.layer, losses, training.epochs),
      });
      const bounds: Record<string, Float32Array> = {};
      for (const role of this.roles) {
        const { W, shape } = b.host.linears[role]!;
        const g = groupsize(shape[1]);
        const groups = b.fixed[role] ?? { colGroup: contiguousGroups(shape[1], g), groups: shape[1] / g };
        b.fixed[role] = { ...groups, bounds: res.bounds[role] };
        bounds[linearName(cfg, role)] = res.bounds[role]!;
        // without the trained clip: DuQuant's static 0.8, or the weight step's plain grid
        const without = fitColumnGroups(
          W,
          shape[0],
          shape[1],
          groups.colGroup,
          groups.groups,
          2 ** this.weight!.codeBits() - 1,
          false,
          fixedGroups ? { clip: 0.8 } : undefined,
        );
        b.untrained.set(
          role,
          quantizeOn(W, shape, groups.colGroup, groups.groups, without, 2 ** this.weight!.codeBits() - 1),
        );
      }
      b.trained = { losses: res.losses, ...(res.stopped ? { stopped: res.stopped } : {}), bounds };
      report.blocks.push({ layer: b.layer, losses: res.losses, ...(res.stopped ? { stopped: res.stopped } : {}) });
      report.steps += res.steps;
      for (const k of ['forward', 'backward', 'optimizer'] as const) report.ms[k] += res.ms[k];
    } finally {
      releaseBlock(be, fpBlock);
    }
  }

  /** The true-sequential groups of a block's layers (all at once unless the weight step asks for them). */
  weightGroups(): LinearRole[][] {
    if (!this.weight) return [];
    return this.weight.sequential() ? familyOf(this.cfg).sequentialGroups.map((g) => [...g]) : [this.roles];
  }

  /** Quantize a group: one calibration pass for every Hessian in it, then each layer, back in the model's storage. */
  async quantizeGroup(b: BlockInProgress<T>, group: LinearRole[]): Promise<void> {
    const { be, cfg, r, ctx, weightReport } = this;
    const weight = this.weight!;
    const hessians = new Map<TapPoint, { role: LinearRole; acc: HessianAccumulator<T> }>();
    if (weight.needsHessian()) {
      const tH = performance.now();
      for (const role of group)
        hessians.set(tapIn(role), { role, acc: new HessianAccumulator(be, b.host.linears[role]!.shape[1]) });
      for (const x of this.inputs) {
        const h = be.rows(x, 0, be.shape(x)[0]);
        await ctx.decoder.block(b.layer, h, b.block, (_, point, t) => hessians.get(point)?.acc.add(t));
        be.release(h);
      }
      await be.sync();
      weightReport.hessianMs += performance.now() - tH;
    }
    for (const role of group) {
      const t = performance.now();
      // the block is dense while it is quantized (it is packed once it is finished)
      const lin = b.block.linears[role] as Linear<T>;
      const acc = hessians.get(tapIn(role))?.acc;
      const H = acc ? await acc.read() : undefined;
      acc?.dispose();
      const { shape, W } = b.host.linears[role]!;
      const name = linearName(cfg, role);
      // the method works on an f32 copy; the quantized layer goes back in the model's storage format
      const Wt = be.storage(lin.W) === 'f32' ? lin.W : be.fromHost(W, shape);
      const res = await weight.quantize(be, { name, role, W, Wt, shape, H, groups: b.fixed[role], seed: r.seed });
      if (Wt !== lin.W) be.release(Wt);
      if (r.scales16 && res.grid) res.Q = withHalfScales(be, res.Q, res.grid, shape);
      if (res.grid) b.grids[name] = res.grid;
      weightReport.factorMs += res.factorMs ?? 0;
      weightReport.loopMs += res.loopMs ?? 0;
      if (res.factorization)
        weightReport.factorization ??=
          res.factorization.note ??
          `factorization on the ${res.factorization.route === 'gpu' ? 'GPU (f32)' : 'CPU (f64)'} ` +
            `(--factorization ${res.factorization.route})`;
      be.release(lin.W);
      const format = ctx.weights.linearFormat;
      lin.W = format === 'f32' ? res.Q : be.pack16(res.Q, format);
      if (lin.W !== res.Q) be.release(res.Q);
      b.ms.set(role, performance.now() - t);
      b.counted.set(role, res);
      if (res.detail !== undefined) b.details[name] = res.detail;
    }
  }

  /** From here on the block quantizes its activations (the transform's quantizers). */
  installQuantizers(b: BlockInProgress<T>): void {
    if (!b.transformed?.act) return;
    b.block.act = uploadActQuant(this.be, b.transformed.act);
    b.block.probLevels = b.transformed.probLevels;
  }

  /**
   * Measure: one pass of the inputs through the quantized block gives the next block's inputs and each layer's output
   * error (and, without a transform's statistics, each site's channel ranges for the Inspect views).
   */
  async measure(b: BlockInProgress<T>): Promise<{ layers: LayerReport[]; ranges?: SiteReport[] }> {
    const { be, cfg, weight, roles } = this;
    const err = new Map<TapPoint, { role: LinearRole; fpW: T; sums: T[]; untrained: T | null; uSums: T[] }>();
    for (const role of roles) {
      const h = b.host.linears[role]!;
      const u = b.untrained.get(role);
      err.set(tapIn(role), {
        role,
        fpW: be.fromHost(h.W, h.shape),
        sums: [],
        untrained: u ? be.fromHost(u, h.shape) : null,
        uSums: [],
      });
    }
    const ranges = this.transform ? null : new SiteRangeCollector(be, cfg);
    for (const x of this.inputs) {
      // recorded, not read: the sums come back in one go after the pass, with no sync inside the forward
      await this.ctx.decoder.block(b.layer, x, b.block, (_, point, X) => {
        ranges?.add(point, X);
        const e = err.get(point);
        if (!e) return;
        const yq = be.matmul(X, denseW(b.block.linears[e.role]!, 'the output error'), null);
        const yf = be.matmul(X, e.fpW, null);
        e.sums.push(be.outputError(yq, yf));
        be.release(yq);
        if (e.untrained) {
          const yu = be.matmul(X, e.untrained, null);
          e.uSums.push(be.outputError(yu, yf));
          be.release(yu);
        }
        be.release(yf);
      });
    }
    const layers: LayerReport[] = [];
    for (const e of err.values()) {
      const [num, den] = sumPairs(await be.readMany(e.sums));
      const untrained = e.untrained ? sumPairs(await be.readMany(e.uSums)) : null;
      for (const t of [...e.sums, ...e.uSums, e.fpW, e.untrained]) be.release(t);
      const [R, K] = b.host.linears[e.role]!.shape;
      const g = weight ? weight.groups(K, b.fixed[e.role]) : 0;
      const codeBits = weight ? weight.codeBits() : 16;
      const own = b.counted.get(e.role);
      layers.push({
        layer: b.layer,
        linear: linearName(cfg, e.role),
        relError: Math.sqrt(num / den),
        ms: b.ms.get(e.role) ?? 0,
        bits: own?.bits ?? (weight ? codeBits + (32 * g) / K : 16),
        codeBits: own?.codeBits ?? codeBits,
        groups: g,
        weights: R * K,
        ...(untrained ? { relErrorUntrained: Math.sqrt(untrained[0] / untrained[1]) } : {}),
      });
    }
    if (this.meanInput) await this.ctx.decoder.block(b.layer, this.meanInput, b.block);
    this.summary.layers.push(...layers);
    const siteRanges = ranges ? rangeReports(b.layer, await ranges.read()) : undefined;
    if (siteRanges) (this.summary.ranges ??= []).push(...siteRanges);
    this.ctx.weights.replace(b.layer, b.block);
    return { layers, ranges: siteRanges };
  }

  /** Save: the quantized block, its quantizers and reports, so a reload resumes after it. */
  async save(
    b: BlockInProgress<T>,
    measured: { layers: LayerReport[]; ranges?: SiteReport[] },
  ): Promise<Partial<Record<LinearRole, Float32Array>>> {
    const { be, roles, ctx } = this;
    // the quantized weights on the host: what the cache keeps and what packing reads
    const Q = await be.readMany(roles.map((role) => denseW(b.block.linears[role]!, 'the cache')));
    const linears: HostBlock['linears'] = {};
    roles.forEach((role, i) => (linears[role] = { ...b.host.linears[role]!, W: Q[i] }));
    const dense = Object.fromEntries(roles.map((role, i) => [role, Q[i]]));
    if (!ctx.cache) return dense;
    const t = b.transformed;
    await ctx.cache.save(b.layer, {
      host: { ...b.host, linears, act: t?.act, probLevels: t?.probLevels },
      layers: measured.layers,
      transform: t ? { method: this.transform!.method.name, report: t.report, fold: t.fold } : undefined,
      ranges: measured.ranges,
      ...(Object.keys(b.details).length ? { weight: b.details } : {}),
      ...(Object.keys(b.grids).length ? { grids: b.grids } : {}),
      ...(b.trained ? { clipTraining: b.trained } : {}),
    });
    return dense;
  }

  dispose(): void {
    for (const x of [...this.inputs, ...this.fpInputs]) this.be.release(x);
    this.be.release(this.meanInput);
  }
}

/**
 * Quantizes a model block by block with a recipe: each block restored from the cache or transformed, quantized group
 * by group, given its activation quantizers, measured and saved.
 */
export async function quantizeModel<T>(
  r: QuantRecipe,
  calib: Uint32Array[],
  ctx: QuantizeContext<T>,
): Promise<QuantSummary> {
  const run = new QuantizeRun(r, calib, ctx);
  const t0 = performance.now();
  const layers = run.cfg.layers;
  await run.embedCalibration();
  for (let layer = 0; layer < layers; layer++) {
    run.checkCancel();
    const cached = await ctx.cache?.load(layer);
    if (cached) {
      await run.restore(layer, cached);
      ctx.onBlock?.(layer + 1, layers, run.summary.layers, true);
      continue;
    }
    const b = await run.transformBlock(layer);
    await run.trainClip(b);
    for (const group of run.weightGroups()) {
      run.checkCancel();
      await run.quantizeGroup(b, group);
    }
    run.installQuantizers(b);
    const measured = await run.measure(b);
    const Q = await run.save(b, measured);
    run.pack(b.block, b.grids, (role) => Q[role]!);
    ctx.onBlock?.(layer + 1, layers, run.summary.layers, false);
  }
  run.dispose();
  run.summary.totalMs = performance.now() - t0;
  return run.summary;
}

/**
 * Q with each group's scale rounded to f16 and the codes kept (--f16_scales): Q' = f16(scale)·(q − zero), exactly
 * the weights a GPTQ checkpoint of this run loads as. The grid's scales are rounded in place. Re-rounding Q by the
 * rounded scale recovers each code: the scales move by at most 2⁻¹¹ relative, less than half a step for
 * any code ≤ 255.
 */
function withHalfScales<T>(be: Backend<T>, Q: T, grid: LayerGrid, shape: [number, number]): T {
  const scales = roundToHalf(
    Float32Array.from({ length: grid.params.length / 2 }, (_, i) => grid.params[2 * i]),
    'f16',
  );
  scales.forEach((s, i) => (grid.params[2 * i] = s));
  const params = be.fromHost(grid.params, [shape[0], grid.params.length / (2 * shape[0]), 2]);
  const cg = be.ids(grid.gIdx);
  const out = be.fakeQuant(Q, params, cg, { maxq: grid.maxq, sym: grid.sym, groupsize: shape[1] });
  for (const t of [Q, params]) be.release(t);
  be.release(cg);
  return out;
}

/** The position-wise mean of equally shaped tensors ([T, C] windows), read back one at a time, on the backend. */
async function meanOf<T>(be: Backend<T>, xs: T[]): Promise<T> {
  let mean: Float32Array | null = null;
  for (const x of xs) {
    const r = await be.toHost(x);
    mean ??= new Float32Array(r.length);
    for (let i = 0; i < r.length; i++) mean[i] += r[i] / xs.length;
  }
  return be.fromHost(mean!, be.shape(xs[0]));
}

/** W [R, K] quantized on params [R, groups, 2] by each column's group, on the host. */
function quantizeOn(
  W: Float32Array,
  [R, K]: [number, number],
  colGroup: Uint32Array,
  groups: number,
  params: Float32Array,
  maxq: number,
): Float32Array {
  return Float32Array.from(W, (w, i) => {
    const p = (Math.floor(i / K) * groups + colGroup[i % K]) * 2;
    return quantizeValue(w, params[p], params[p + 1], maxq);
  });
}

/** R·K of a block's linear layer by its HF name. */
function layerSize(host: HostBlock, linear: string, cfg: ModelConfig): number | undefined {
  const role = linearRoles(cfg).find((r) => linearName(cfg, r) === linear);
  const shape = role && host.linears[role]?.shape;
  return shape ? shape[0] * shape[1] : undefined;
}
