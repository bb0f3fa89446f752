// Sequential block processing (GPTQ protocol) as a loop over a recipe of steps, on any backend. Block i is calibrated
// on the outputs of the already-quantized blocks 0..i−1; its inputs are captured once through the forward's taps and
// memory holds one block plus its calibration activations. Per block:
//   calibrate → transform (statistics, fold, a constraint on the weight groups) → for each true-sequential group,
//   Hessians if the weight step needs them → quantize → install the activation quantizers → measure every layer's
//   output error (and each site's channel ranges) → cache.
// No method is named here: each is a registered module (quant/index.ts) that this loop calls through its hooks.
import type { Backend } from '../gpu/backend.ts';
import { familyOf, linearName, linearRoles, type LinearRole } from '../model/families.ts';
import type { Family } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import { tapIn, type TapPoint } from '../model/taps.ts';
import { uploadActQuant, type HostBlock, type WeightStore } from '../model/weights.ts';
import { CancelledError } from '../errors.ts';
import { HessianAccumulator } from '../quant/gptq.ts';
import { rangeReports, SiteRangeCollector, sumPairs } from '../quant/activationStats.ts';
import { resolveSteps, type QuantRecipe } from '../quant/recipe.ts';
import type { ColumnGroups, LayerGrid, TransformedBlock } from '../quant/method.ts';
import { roundToHalf } from '../gpu/half.ts';
import type { SiteReport } from '../quant/siteReport.ts';
import type { LayerReport, QuantSummary, StepReport, WeightStepReport } from './types.ts';

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
  signal?: AbortSignal;
  /** finished blocks from an earlier run of the same recipe are restored instead of recomputed */
  cache?: BlockCache;
}

export async function quantizeModel<T>(
  r: QuantRecipe,
  calib: Uint32Array[],
  ctx: QuantizeContext<T>,
): Promise<QuantSummary> {
  const { decoder, weights } = ctx;
  const be: Backend<T> = decoder.be;
  const cfg = decoder.cfg;
  const roles = linearRoles(cfg.family);
  const { transform, weight } = resolveSteps(r);
  const groups = weight?.method.sequential(weight.options as never)
    ? familyOf(cfg).sequentialGroups.map((g) => [...g])
    : [roles];
  const transformReport: StepReport = {
    method: transform?.method.name ?? '',
    report: { blocks: [] as unknown[], ms: 0 },
  };
  const weightReport: WeightStepReport = { hessianMs: 0, factorMs: 0, loopMs: 0 };
  const summary: QuantSummary = {
    method: r.steps.map((s) => s.method).join('+'),
    steps: [],
    layers: [],
    totalMs: 0,
    calibrationTokens: 0,
  };
  if (transform) summary.steps.push(transformReport);
  if (weight) summary.steps.push({ method: weight.method.name, report: weightReport });
  if (ctx.cache) summary.blockKey = ctx.cache.key;
  const t0 = performance.now();
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new CancelledError('quantization cancelled');
  };
  const tReport = transformReport.report as { blocks: unknown[]; ms: number };

  const inps: T[] = [];
  for (const w of calib) inps.push(await decoder.embed(w));
  summary.calibrationTokens = calib.length * (calib[0]?.length ?? 0);
  // a transform's statistics of the full-precision model, computed when the first block that is not cached needs them
  let prepared: Promise<unknown> | undefined;
  const prepare = () =>
    (prepared ??=
      transform?.method.prepare?.({ be, decoder, layers: cfg.layers, windows: calib }, transform.options as never) ??
      Promise.resolve(undefined));
  // DuQuant's rotation input: the windows' mean embedding, then each quantized block's output of it
  const meanInput = transform?.method.usesMeanInput ? await meanOf(be, inps) : undefined;

  for (let layer = 0; layer < cfg.layers; layer++) {
    checkCancel();
    const cached = await ctx.cache?.load(layer);
    if (cached) {
      // restored: the block only has to produce the next block's inputs
      const block = weights.upload(cached.host);
      weights.replace(layer, block);
      for (const x of meanInput ? [...inps, meanInput] : inps) await decoder.block(layer, x, block);
      // blocks cached before layers carried their size count by it all the same
      summary.layers.push(
        ...cached.layers.map((l) => ({ ...l, weights: l.weights ?? layerSize(cached.host, l.linear, cfg.family) })),
      );
      tReport.blocks.push(...(cached.transform?.report ?? []));
      if (cached.ranges) (summary.ranges ??= []).push(...cached.ranges);
      summary.cachedBlocks = (summary.cachedBlocks ?? 0) + 1;
      ctx.onBlock?.(layer + 1, cfg.layers, summary.layers, true);
      continue;
    }
    let block = await weights.block(layer);
    // the full-precision weights (after the transform): the weight step's input and the reference of the output error
    let host = await weights.hostBlock(layer);
    let transformed: TransformedBlock<unknown> | null = null;
    if (transform) {
      const t = performance.now();
      // whole bits (CLAQ's adaptive 2.1 fits as 2)
      const weightBits = weight ? Math.round(weight.method.codeBits(weight.options as never)) : undefined;
      transformed = await transform.method.block(
        {
          be,
          decoder,
          layer,
          block,
          host,
          inputs: inps,
          seed: r.seed,
          prepared: await prepare(),
          meanInput,
          weightBits,
        },
        transform.options as never,
      );
      tReport.blocks.push(...transformed.report);
      // the transform folded into the weights; activations stay in full precision until the weights are quantized
      host = transformed.host;
      block = weights.upload(host);
      weights.replace(layer, block);
      tReport.ms += performance.now() - t;
    }
    const fixed: Partial<Record<LinearRole, ColumnGroups>> = transformed?.weightGroups ?? {};
    const started = new Map<LinearRole, number>();
    /** what the weight step counted itself (exact bits) and its per-layer detail */
    const counted = new Map<LinearRole, { bits?: number; codeBits?: number }>();
    const details: Record<string, unknown> = {};
    /** each layer's grid, kept with the block for export */
    const grids: Record<string, LayerGrid> = {};

    for (const group of weight ? groups : []) {
      checkCancel();
      const wm = weight!.method;
      const wo = weight!.options as never;
      // one calibration pass collects the Hessian of every layer in the group
      const hessians = new Map<TapPoint, { role: LinearRole; acc: HessianAccumulator<T> }>();
      if (wm.needsHessian(wo)) {
        const tH = performance.now();
        for (const role of group)
          hessians.set(tapIn(role), { role, acc: new HessianAccumulator(be, host.linears[role]!.shape[1]) });
        for (const x of inps) {
          const h = be.rows(x, 0, be.shape(x)[0]);
          await decoder.block(layer, h, block, (_, point, t) => hessians.get(point)?.acc.add(t));
          be.release(h);
        }
        await be.sync();
        weightReport.hessianMs += performance.now() - tH;
      }
      for (const role of group) {
        const t = performance.now();
        const lin = block.linears[role]!;
        const acc = hessians.get(tapIn(role))?.acc;
        const H = acc ? await acc.read() : undefined;
        acc?.dispose();
        const { shape, W } = host.linears[role]!;
        // the method works on an f32 copy; the quantized layer goes back in the model's storage format
        const Wt = be.storage(lin.W) === 'f32' ? lin.W : be.fromHost(W, shape);
        const res = await wm.quantize(
          be,
          { name: linearName(cfg.family, role), role, W, Wt, shape, H, groups: fixed[role], seed: r.seed },
          wo,
        );
        if (Wt !== lin.W) be.release(Wt);
        if (r.scales16 && res.grid) res.Q = withHalfScales(be, res.Q, res.grid, shape);
        if (res.grid) grids[linearName(cfg.family, role)] = res.grid;
        weightReport.factorMs += res.factorMs ?? 0;
        weightReport.loopMs += res.loopMs ?? 0;
        if (res.factorization)
          weightReport.factorization ??=
            res.factorization.note ??
            `factorization on the ${res.factorization.route === 'gpu' ? 'GPU (f32)' : 'CPU (f64)'} ` +
              `(--factorization ${res.factorization.route})`;
        be.release(lin.W);
        const format = weights.linearFormat;
        lin.W = format === 'f32' ? res.Q : be.pack16(res.Q, format);
        if (lin.W !== res.Q) be.release(res.Q);
        started.set(role, performance.now() - t);
        counted.set(role, res);
        if (res.detail !== undefined) details[linearName(cfg.family, role)] = res.detail;
      }
    }
    if (transformed?.act) {
      // from here on the block quantizes its activations
      block.act = uploadActQuant(be, transformed.act);
      block.probLevels = transformed.probLevels;
    }

    // outputs of the quantized block feed block layer + 1; the same pass measures each layer's output error
    const layers: LayerReport[] = [];
    const err = new Map<TapPoint, { role: LinearRole; fpW: T; sums: T[] }>();
    for (const role of roles)
      err.set(tapIn(role), { role, fpW: be.fromHost(host.linears[role]!.W, host.linears[role]!.shape), sums: [] });
    // without a transform's statistics, the same pass records each site's channel ranges for the Inspect views
    const ranges = transform ? null : new SiteRangeCollector(be, cfg);
    for (const x of inps) {
      // recorded, not read: the sums come back in one go after the pass, with no sync inside the forward
      await decoder.block(layer, x, block, (_, point, X) => {
        ranges?.add(point, X);
        const e = err.get(point);
        if (!e) return;
        const yq = be.matmul(X, block.linears[e.role]!.W, null);
        const yf = be.matmul(X, e.fpW, null);
        e.sums.push(be.outputError(yq, yf));
        be.release(yq);
        be.release(yf);
      });
    }
    for (const e of err.values()) {
      const [num, den] = sumPairs(await be.readMany(e.sums));
      for (const t of [...e.sums, e.fpW]) be.release(t);
      const [R, K] = host.linears[e.role]!.shape;
      const wo = weight?.options as never;
      const g = weight ? weight.method.groups(wo, K, fixed[e.role]) : 0;
      const codeBits = weight ? weight.method.codeBits(wo) : 16;
      const own = counted.get(e.role);
      layers.push({
        layer,
        linear: linearName(cfg.family, e.role),
        relError: Math.sqrt(num / den),
        ms: started.get(e.role) ?? 0,
        bits: own?.bits ?? (weight ? codeBits + (32 * g) / K : 16),
        codeBits: own?.codeBits ?? codeBits,
        groups: g,
        weights: R * K,
      });
    }
    if (meanInput) await decoder.block(layer, meanInput, block);
    summary.layers.push(...layers);
    const siteRanges = ranges ? rangeReports(layer, await ranges.read()) : undefined;
    if (siteRanges) (summary.ranges ??= []).push(...siteRanges);
    weights.replace(layer, block);
    if (ctx.cache) {
      const Q = await be.readMany(roles.map((role) => block.linears[role]!.W));
      const linears: HostBlock['linears'] = {};
      roles.forEach((role, i) => (linears[role] = { ...host.linears[role]!, W: Q[i] }));
      await ctx.cache.save(layer, {
        host: { ...host, linears, act: transformed?.act, probLevels: transformed?.probLevels },
        layers,
        transform: transformed
          ? { method: transform!.method.name, report: transformed.report, fold: transformed.fold }
          : undefined,
        ranges: siteRanges,
        ...(Object.keys(details).length ? { weight: details } : {}),
        ...(Object.keys(grids).length ? { grids } : {}),
      });
    }
    ctx.onBlock?.(layer + 1, cfg.layers, summary.layers, false);
  }
  for (const x of inps) be.release(x);
  be.release(meanInput);
  summary.totalMs = performance.now() - t0;
  return summary;
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

/** R·K of a block's linear layer by its HF name. */
function layerSize(host: HostBlock, linear: string, family: Family): number | undefined {
  const role = linearRoles(family).find((r) => linearName(family, r) === linear);
  const shape = role && host.linears[role]?.shape;
  return shape ? shape[0] * shape[1] : undefined;
}
