// One experiment: load a model, evaluate it in full precision, and when the recipe names a method, calibrate,
// quantize block by block and evaluate again. The page's worker and the CLI both call this.
import { gpuBackend, referenceBackend, type Backend } from '../gpu/backend.ts';
import { Gpu } from '../gpu/gpu.ts';
import { evalText, checkDatasetName, type EvalText, type TextReader } from '../eval/datasets.ts';
import { perplexity, tokenizeEval } from '../eval/perplexity.ts';
import { scoreTask } from '../eval/zeroShot.ts';
import { continuationLogProbs, generate, type Generation } from '../eval/generate.ts';
import { checkTaskName, loadTask, type ZeroShotItem, type ZeroShotTask } from '../eval/zeroShotTasks.ts';
import { Decoder } from '../model/forward.ts';
import { loadModel, type LoadedModel } from '../model/load.ts';
import { withProgress, type ModelSource } from '../model/source.ts';
import { WeightStore } from '../model/weights.ts';
import { OptionsError } from '../errors.ts';
import { calibrationOverlap, calibrationText, sampleWindows } from '../eval/calibration.ts';
import {
  chainOf,
  completeStep,
  makeRecipe,
  recipeBits,
  recipeLabel,
  resolveSteps,
  validateRecipe,
  type QuantRecipe,
} from '../quant/recipe.ts';
import { quantizeModel, type BlockCache, type CachedBlock } from './quantizeModel.ts';
import {
  blockKeyPrefix,
  cachedSource,
  fpKey,
  hashOf,
  modelKeyOf,
  resultKey,
  textDigest,
  tolerantCache,
  type LabCache,
  type TextDigests,
} from './cache.ts';
import { maxWindow, parameterCount, type ModelConfig } from '../model/config.ts';
import { linearShapes } from '../model/families.ts';
import { storageSize } from './storageSize.ts';
import { predictQuantizedLayers } from './memory.ts';
import type {
  EvalRequest,
  EvalResult,
  GenerationReport,
  Progress,
  QuantSummary,
  Stage,
  TaskScore as Score,
} from './types.ts';

/** An evaluation's figures (a full-precision one is kept in the cache: the same whatever recipe follows it). */
interface Evaluation {
  ppl: Record<string, number>;
  windows: Record<string, number>;
  evalMs: Record<string, number>;
  tasks: Record<string, Score>;
  /** the model's continuation of the request's prompt */
  generation?: Generation;
}

export interface EvalContext {
  source: ModelSource;
  readText: TextReader;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** reuse a device across calls (the page keeps one) */
  gpu?: Gpu;
  /** model bytes, calibration windows, quantized blocks and results kept across runs (IndexedDB in the page) */
  cache?: LabCache;
  /** reads a calibration text file named by path (the CLI's --calib FILE.txt); absent in the page */
  readFile?: TextReader;
}

/** Digests of the texts a run reads, for its cache keys. */
async function textDigests(
  evalTexts: Record<string, EvalText>,
  calib: string | null,
  taskTexts: Record<string, string>,
): Promise<TextDigests> {
  const out: TextDigests = { eval: {} };
  for (const [ds, t] of Object.entries(evalTexts)) out.eval[ds] = await textDigest(t.text);
  if (calib !== null) out.calib = await textDigest(calib);
  if (Object.keys(taskTexts).length) {
    out.tasks = {};
    for (const [task, text] of Object.entries(taskTexts)) out.tasks[task] = await textDigest(text);
  }
  return out;
}

/** f32 weights kept on the GPU across windows; past this, blocks stream in one at a time per window. */
export const DEFAULT_RESIDENT_BYTES = 2 * 2 ** 30;

/** How many decoder blocks stay resident within a byte budget (embeddings and lm_head are always resident). */
export function blocksThatFit(cfg: ModelConfig, budget: number): number {
  const globals = parameterCount(cfg) - cfg.layers * blockParameters(cfg);
  return Math.max(0, Math.min(cfg.layers, Math.floor((budget - globals * 4) / (blockParameters(cfg) * 4))));
}

/** A block's linear weights (what the residency budget counts; norms are too small to matter). */
function blockParameters(cfg: ModelConfig): number {
  return Object.values(linearShapes(cfg)).reduce((s, [R, K]) => s + R * K, 0);
}

/**
 * The recipe with each asked-for baseline in place of its step: the transform's (RPTQ: contiguous groups, per tensor;
 * DuQuant: per-token, smoothing alone), then the weight step's (CLAQ: GPTQ at the same code bits).
 */
function baselineRecipes(r: QuantRecipe, names: string[] | undefined): { name: string; recipe: QuantRecipe }[] {
  if (!names?.length) return [];
  const { transform, weight } = resolveSteps(r);
  const out: { name: string; recipe: QuantRecipe }[] = [];
  for (const [step, index] of [
    [transform, 0],
    [weight, r.steps.length - 1],
  ] as const) {
    for (const b of step?.baselines() ?? []) {
      if (!names.includes(b.name)) continue;
      const replaced = completeStep({ ...b.options, method: b.method ?? step!.method.name });
      out.push({ name: b.name, recipe: { ...r, steps: r.steps.map((s, i) => (i === index ? replaced : s)) } });
    }
  }
  return out;
}

/** What the experiment reads besides the model: every text, checked, and the digests that name them in cache keys. */
interface Texts {
  evaluation: Record<string, EvalText>;
  tasks: Partial<Record<ZeroShotTask, ZeroShotItem[]>>;
  calibration: string | null;
  digests: TextDigests | null;
}

/** The full-precision model on the backend (or a fresh copy of it, which a recipe then quantizes in place). */
interface LoadedWeights {
  weights: WeightStore<unknown>;
  decoder: Decoder<unknown>;
}

/** What one quantize-then-evaluate pass gives. */
interface QuantizedEvaluation extends Evaluation {
  quant: QuantSummary;
}

/**
 * One experiment as named stages, in the order runExperiment calls them: open (check the request, load the model),
 * read the texts, look the experiment up in the cache, calibrate, load the weights, evaluate at full precision,
 * quantize and evaluate, the baselines, and the result (cached).
 */
class Experiment {
  readonly recipe: QuantRecipe;
  readonly quantize: boolean;
  readonly taskNames: ZeroShotTask[];
  readonly t0 = performance.now();
  /** what went wrong around the run (a full cache): said once, never stored with the figures */
  readonly warnings: string[] = [];
  /** what the figures themselves carry (calibration overlapping evaluation): stored with them */
  readonly caveats: string[] = [];
  readonly cache: LabCache | null;
  private last: Progress = { stage: 'load', label: '', fraction: 0 };
  // set by open
  model!: LoadedModel;
  cfg!: ModelConfig;
  seqlen!: number;
  modelKey = '';
  // set by the later stages
  texts!: Texts;
  calib: Uint32Array[] = [];
  be!: Backend<unknown>;
  gpu: Gpu | null = null;
  loadMs = 0;
  private readonly stores: WeightStore<unknown>[] = [];
  private tokensScored = 0;
  private scoringMs = 0;
  fpCached = false;
  /** the decoder's linear weights on the GPU as loaded, and once quantized (dense or packed) */
  layerBytes: { loaded: number; quantized: number } | null = null;

  constructor(
    readonly req: EvalRequest,
    readonly ctx: EvalContext,
  ) {
    req.datasets.forEach(checkDatasetName);
    this.taskNames = (req.tasks ?? []).map(checkTaskName);
    if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1))
      throw new OptionsError(`--limit must be a positive integer (got ${req.limit})`);
    this.recipe = req.recipe ?? makeRecipe({ seqlen: req.seqlen ?? 2048 });
    validateRecipe(this.recipe);
    this.quantize = this.recipe.steps.length > 0;
    const warn = (w: string) => (this.warnings.push(w), this.report({ ...this.last, label: `warning: ${w}` }));
    this.cache = ctx.cache ? tolerantCache(ctx.cache, warn) : null;
  }

  report(p: Progress): void {
    this.ctx.onProgress?.((this.last = p));
  }

  /** Open: the model's config, tokenizer and tensor table (bytes read while it loads move the load bar). */
  async open(): Promise<void> {
    const { ctx, cache, recipe: r, req } = this;
    let totalBytes: number | undefined;
    let loading = true;
    const source = withProgress(
      cache && ctx.source.remote ? cachedSource(ctx.source, cache) : ctx.source,
      (loaded, file) => {
        if (!loading) return;
        const fraction = totalBytes ? Math.min(0.99, loaded / totalBytes) : 0;
        this.report({ stage: 'load', label: `reading ${file}`, fraction, loadedBytes: loaded, totalBytes });
      },
    );
    this.model = await loadModel(source);
    totalBytes = this.model.checkpoint.bytes;
    this.stopLoadProgress = () => (loading = false);
    validateRecipe(r, this.model.config);
    this.cfg = r.hiddenLayerNum ? { ...this.model.config, layers: r.hiddenLayerNum } : this.model.config;
    // capped at the positions the model has (and Phi-3's sliding window, so no window ever needs its mask)
    this.seqlen = Math.min(req.seqlen ?? r.seqlen, maxWindow(this.cfg));
    if (!Number.isInteger(this.seqlen) || this.seqlen < 2)
      throw new OptionsError(`seqlen must be an integer ≥ 2 (got ${req.seqlen})`);
    if (cache) this.modelKey = await modelKeyOf(ctx.source.id, this.model.config, this.model.checkpoint);
  }

  /** later reads (a block's weights for quantization) no longer move the load bar */
  private stopLoadProgress = () => {};

  /**
   * Read the texts: every text is read (and checked) before anything is looked up. Cache keys name the texts by their
   * bytes, so a different text under the same dataset name never returns another text's figures.
   */
  async readTexts(): Promise<void> {
    const { ctx, req, recipe: r } = this;
    const evaluation: Record<string, EvalText> = {};
    for (const ds of req.datasets) evaluation[ds] = await evalText(ds, ctx.readText, this.seqlen);
    const tasks: Texts['tasks'] = {};
    const taskTexts: Record<string, string> = {};
    for (const task of this.taskNames)
      ({ items: tasks[task], text: taskTexts[task] } = await loadTask(task, ctx.readText, req.limit));
    const calibration = this.quantize ? await calibrationText(r.calib, ctx.readText, ctx.readFile) : null;
    if (calibration !== null) {
      const evalTexts = Object.fromEntries(Object.entries(evaluation).map(([ds, t]) => [ds, t.text]));
      const overlap = calibrationOverlap(calibration, evalTexts);
      if (overlap.length)
        this.caveats.push(
          `the calibration text (${r.calib}) overlaps the evaluation text of ${overlap.join(', ')}: ` +
            'the quantized figure there is flattered',
        );
    }
    const digests = this.cache ? await textDigests(evaluation, calibration, taskTexts) : null;
    this.texts = { evaluation, tasks, calibration, digests };
  }

  /** The cache: an identical experiment's result, when one ran before. */
  async cached(): Promise<EvalResult | undefined> {
    if (!this.cache) return undefined;
    const hit = await this.cache.get<EvalResult>(await this.resultKey());
    if (!hit) return undefined;
    this.report({ stage: 'evaluate', label: 'identical experiment found in the cache', fraction: 1 });
    return { ...hit, cached: true, warnings: this.warnings };
  }

  private resultKey(): Promise<string> {
    return resultKey(this.modelKey, this.req, this.recipe, this.texts.digests);
  }

  /** Calibrate: the calibration windows, tokenized and checked before any GPU work (a too-short text fails here). */
  async calibrate(): Promise<void> {
    const { recipe: r, cache, texts } = this;
    if (texts.calibration === null) return;
    const seqlen = Math.min(r.seqlen, maxWindow(this.cfg));
    const windows = { text: texts.digests?.calib, nsamples: r.nsamples, seqlen, seed: r.seed };
    const key = `calib|${this.modelKey}|${await hashOf(windows)}`;
    this.calib = (cache && (await cache.get<Uint32Array[]>(key))) || [];
    if (this.calib.length === 0) {
      this.calib = sampleWindows(this.model.tokenizer.encode(texts.calibration), r.nsamples, seqlen, r.seed);
      await cache?.set(key, this.calib, { model: this.ctx.source.id, kind: 'calib' });
    }
  }

  /** The backend the experiment runs on, for the rest of the stages (released by dispose). */
  async startBackend(): Promise<void> {
    const { req, ctx } = this;
    const backendName = req.backend ?? 'webgpu';
    this.gpu = backendName === 'webgpu' ? (ctx.gpu ?? (await Gpu.create())) : null;
    const base = (this.gpu ? gpuBackend(this.gpu) : referenceBackend()) as Backend<unknown>;
    this.be = req.maxBindingBytes
      ? { ...base, maxTensorBytes: Math.min(base.maxTensorBytes, req.maxBindingBytes) }
      : base;
  }

  /** Load the weights: the full-precision model on the backend (the resident blocks up front). */
  async loadWeights(): Promise<LoadedWeights> {
    const { be, cfg, req } = this;
    const resident = blocksThatFit(cfg, req.maxResidentBytes ?? DEFAULT_RESIDENT_BYTES);
    const w = new WeightStore(be, cfg, this.model.checkpoint, resident, req.weights ?? 'auto');
    this.stores.push(w);
    w.validate();
    await w.global();
    for (let i = 0; i < Math.min(cfg.layers, resident); i++) await w.block(i);
    if (this.stores.length === 1) {
      this.stopLoadProgress();
      const bytes = this.model.checkpoint.bytes;
      this.report({ stage: 'load', label: 'model loaded', fraction: 1, loadedBytes: bytes, totalBytes: bytes });
      this.loadMs = performance.now() - this.t0;
    }
    return { weights: w, decoder: new Decoder(be, cfg, w) };
  }

  /** Evaluate: perplexity on every dataset, then every zero-shot task; `outer` maps progress into the stage's share. */
  async evaluate(
    decoder: Decoder<unknown>,
    phase: string,
    stage: Stage,
    outer = (f: number) => f,
  ): Promise<Evaluation> {
    const { req, ctx, model, seqlen } = this;
    this.report({ stage, label: `${phase}evaluation starting`, fraction: outer(0) });
    const out: Evaluation = { ppl: {}, windows: {}, evalMs: {}, tasks: {} };
    for (const ds of req.datasets) {
      const ids = tokenizeEval(model.tokenizer, this.texts.evaluation[ds]);
      const t1 = performance.now();
      const res = await perplexity(decoder, ids, seqlen, {
        windows: req.windows,
        signal: ctx.signal,
        checkFinite: req.checkFinite,
        onProgress: (p) =>
          this.report({
            stage,
            label: `${phase}${ds} window ${p.window}/${p.windows} (ppl ${p.ppl.toFixed(3)})`,
            fraction: outer(p.window / p.windows),
          }),
      });
      out.evalMs[ds] = performance.now() - t1;
      this.scoringMs += out.evalMs[ds];
      this.tokensScored += res.windows * seqlen;
      out.ppl[ds] = res.ppl;
      out.windows[ds] = res.windows;
    }
    for (const task of this.taskNames) {
      out.tasks[task] = await scoreTask(decoder, model.tokenizer, task, this.texts.tasks[task]!, {
        ...req.packing,
        signal: ctx.signal,
        onProgress: (p) => {
          const left = (p.total - p.done) / p.itemsPerSecond;
          this.report({
            stage,
            label:
              `${phase}${task} ${p.done}/${p.total} items ` +
              `(${p.itemsPerSecond.toFixed(1)} items/s${p.done < p.total ? `, ~${left.toFixed(0)} s left` : ''})`,
            fraction: outer(p.done / p.total),
            items: {
              phase: phase.trim().replace(/:$/, ''),
              task,
              done: p.done,
              total: p.total,
              perSecond: p.itemsPerSecond,
            },
          });
        },
      });
    }
    if (req.generate) out.generation = await this.generate(decoder, phase, stage, outer);
    return out;
  }

  /** The request's prompt continued by a decoder, the text streamed into the progress reports. */
  private async generate(
    decoder: Decoder<unknown>,
    phase: string,
    stage: Stage,
    outer: (f: number) => number,
  ): Promise<Generation> {
    const { prompt, ...settings } = this.req.generate!;
    const model = stage === 'fp' || !this.quantize ? 'fp' : 'quant';
    let text = '';
    return generate(decoder, this.model.tokenizer, this.model.tokenizer.encode(prompt), settings, {
      signal: this.ctx.signal,
      onText: (piece, ids) => {
        text += piece;
        this.report({
          stage,
          label: `${phase}generating: ${ids.length}/${settings.maxNewTokens} tokens`,
          fraction: outer(ids.length / settings.maxNewTokens),
          generated: { model, text, tokens: ids.length },
        });
      },
    });
  }

  /**
   * Both continuations side by side, each token also scored under the other model: the quantized model (fp, now
   * quantized in place) reads the full-precision text; a fresh full-precision copy reads the quantized text and is
   * returned in fp's place (fp's weights leave the GPU first).
   */
  async compareGenerations(
    before: Evaluation | null,
    after: Evaluation,
    fp: LoadedWeights,
  ): Promise<{ report: GenerationReport; fp: LoadedWeights }> {
    const { prompt, ...settings } = this.req.generate!;
    const ids = this.model.tokenizer.encode(prompt);
    const report: GenerationReport = { prompt, ...settings, promptTokens: ids.length };
    const a = before?.generation;
    const b = after.generation!;
    if (!a) return { report: { ...report, quant: b }, fp };
    const fpUnderQuant = await continuationLogProbs(fp.decoder, ids, a.ids);
    fp.weights.dispose();
    const fresh = await this.loadWeights();
    const quantUnderFp = await continuationLogProbs(fresh.decoder, ids, b.ids);
    const n = Math.min(a.ids.length, b.ids.length);
    const divergeAt = Array.from({ length: n }, (_, i) => i).find((i) => a.ids[i] !== b.ids[i]);
    return {
      report: {
        ...report,
        fp: { ...a, otherLogProbs: fpUnderQuant },
        quant: { ...b, otherLogProbs: quantUnderFp },
        ...(divergeAt !== undefined ? { divergeAt } : a.ids.length !== b.ids.length ? { divergeAt: n } : {}),
      },
      fp: fresh,
    };
  }

  /**
   * Evaluate at full precision, or take the figures from the cache: they do not depend on the recipe, so a quantized
   * run reuses the ones an earlier run of the same model, texts and evaluation measured.
   */
  async evaluateFullPrecision(fp: LoadedWeights): Promise<Evaluation | null> {
    const { cache, quantize, req } = this;
    if (quantize && req.skipBefore) return null;
    const stage: Stage = quantize ? 'fp' : 'evaluate';
    const key = cache ? await fpKey(this.modelKey, req, this.cfg.layers, this.seqlen, this.texts.digests) : '';
    const known = cache ? await cache.get<Evaluation>(key) : undefined;
    if (known) {
      this.fpCached = true;
      const label = 'full-precision figures from the cache (the same evaluation ran before)';
      this.report({ stage, label, fraction: 1, fromCache: true });
      return known;
    }
    const ev = await this.evaluate(fp.decoder, quantize ? 'FP ' : '', stage);
    await cache?.set(key, ev, { model: this.ctx.source.id, kind: 'result' });
    return ev;
  }

  /** A recipe's finished blocks, kept across reloads. */
  private async blockCache(r: QuantRecipe): Promise<BlockCache | undefined> {
    const { cache } = this;
    if (!cache) return undefined;
    const prefix = await blockKeyPrefix(this.modelKey, r, this.texts.digests!.calib!);
    const group = this.ctx.source.id;
    return {
      key: prefix,
      load: (layer) => cache.get<CachedBlock>(prefix + layer),
      save: (layer, b) => cache.set(prefix + layer, b, { model: group, kind: 'block' }),
    };
  }

  /**
   * Quantize and evaluate: the target's weights quantized in place with a recipe, then evaluated; a baseline runs both
   * inside the baselines stage (its share of it, half quantization and half evaluation).
   */
  async quantizeAndEvaluate(
    r: QuantRecipe,
    target: LoadedWeights,
    phase: string,
    share?: [number, number],
  ): Promise<QuantizedEvaluation> {
    const { cfg } = this;
    const stage: Stage = share ? 'baselines' : 'quantize';
    const part = (a: number, b: number) => (f: number) =>
      share ? share[0] + (share[1] - share[0]) * (a + (b - a) * f) : f;
    const inQuant = part(0, 0.5);
    const blocks = await this.blockCache(r);
    const label = `${phase}${chainOf(r)} block 0/${cfg.layers}: calibrating`;
    this.report({ stage, label, fraction: inQuant(0), blockKey: blocks?.key, blocks: cfg.layers });
    const quant = await quantizeModel(r, this.calib, {
      decoder: target.decoder,
      weights: target.weights,
      signal: this.ctx.signal,
      cache: blocks,
      onTraining: (layer, losses, epochs) =>
        this.report({
          stage,
          label:
            `${phase}${chainOf(r)} block ${layer + 1}/${cfg.layers}: training the clip, ` +
            `epoch ${losses.length}/${epochs}, loss ${losses[losses.length - 1].toPrecision(4)}`,
          fraction: inQuant((layer + losses.length / Math.max(1, epochs)) / cfg.layers),
          blockKey: blocks?.key,
          blocks: cfg.layers,
          training: { layer, losses, epochs },
        }),
      onBlock: (done, total, _, restored) =>
        this.report({
          stage,
          label: `${phase}${chainOf(r)} block ${done}/${total}${restored ? ' (from cache)' : ''}`,
          fraction: inQuant(done / total),
          fromCache: restored,
          blockKey: blocks?.key,
          blocks: total,
        }),
    });
    const evalStage: Stage = share ? 'baselines' : 'evaluate';
    return {
      quant,
      ...(await this.evaluate(target.decoder, `${phase}${recipeLabel(r)} `, evalStage, part(share ? 0.5 : 0, 1))),
    };
  }

  /** The baselines: each quantizes a fresh full-precision copy (the previous one's weights leave the GPU first). */
  async baselines(fp: LoadedWeights): Promise<EvalResult['baselines']> {
    const variants = baselineRecipes(this.recipe, this.req.baselines);
    if (!variants.length) return undefined;
    const out: NonNullable<EvalResult['baselines']> = [];
    let previous = fp;
    for (const [i, { name, recipe: rb }] of variants.entries()) {
      previous.weights.dispose();
      previous = await this.loadWeights();
      const share: [number, number] = [i / variants.length, (i + 1) / variants.length];
      const b = await this.quantizeAndEvaluate(rb, previous, `baseline ${name}: `, share);
      out.push({
        name,
        label: recipeLabel(rb),
        ppl: b.ppl,
        ...(this.taskNames.length ? { tasks: b.tasks } : {}),
        layers: b.quant.layers,
      });
    }
    return out;
  }

  /** The result: the figures, the reports and what the run used, kept in the cache for an identical experiment. */
  async result(
    before: Evaluation | null,
    after: Evaluation,
    quant: QuantSummary | undefined,
    baselines: EvalResult['baselines'],
    generation?: GenerationReport,
  ): Promise<EvalResult> {
    const { cfg, recipe: r, quantize, gpu, model, taskNames } = this;
    const predicted = predictQuantizedLayers(cfg, r);
    const result: EvalResult = {
      model: this.ctx.source.id,
      modelType: cfg.modelType,
      parameters: model.parameters,
      config: {
        ...recipeBits(r),
        seqlen: this.seqlen,
        windows: this.req.windows,
        backend: this.req.backend ?? 'webgpu',
        recipe: quantize ? r : undefined,
        steps: quantize ? chainOf(r) : undefined,
        ...(taskNames.length && this.req.limit ? { limit: this.req.limit } : {}),
        weights: this.stores[0]?.linearFormat,
      },
      ppl: after.ppl,
      pplBefore: quantize ? before?.ppl : undefined,
      ...(this.fpCached ? { fpCached: true } : {}),
      modelConfig: cfg,
      storage: storageSize(cfg, model.checkpoint, quant?.layers),
      ...(taskNames.length ? { tasks: after.tasks, tasksBefore: quantize ? before?.tasks : undefined } : {}),
      quant,
      ...(generation ? { generation } : {}),
      ...(this.layerBytes && quantize
        ? {
            gpuLayers: {
              loadedBytes: this.layerBytes.loaded,
              quantizedBytes: this.layerBytes.quantized,
              ...(predicted !== null ? { predictedBytes: predicted } : {}),
            },
          }
        : {}),
      ...(model.config.gptq ? { checkpoint: { format: 'gptq' as const, ...model.config.gptq } } : {}),
      baselines,
      windows: after.windows,
      timings: {
        loadMs: this.loadMs,
        evalMs: after.evalMs,
        tokensPerSecond: this.scoringMs > 0 ? this.tokensScored / (this.scoringMs / 1000) : 0,
      },
      device: gpu
        ? { description: gpu.info.description, software: gpu.info.software, shaderF16: gpu.info.shaderF16 }
        : null,
      peakGpuBytes: gpu?.peakBytes ?? 0,
      ...(this.caveats.length ? { caveats: this.caveats } : {}),
    };
    if (this.cache) await this.cache.set(await this.resultKey(), result, { model: this.ctx.source.id, kind: 'result' });
    return { ...result, warnings: this.warnings };
  }

  /** a full-precision run's continuation, as the report of one model */
  fpGeneration(ev: Evaluation): GenerationReport | undefined {
    if (!this.req.generate || !ev.generation) return undefined;
    const ids = this.model.tokenizer.encode(this.req.generate.prompt);
    return { ...this.req.generate, promptTokens: ids.length, fp: ev.generation };
  }

  dispose(): void {
    for (const w of this.stores) w.dispose();
    if (this.gpu && !this.ctx.gpu) this.gpu.destroy();
  }
}

/**
 * One experiment: load a model, evaluate it in full precision, and when the recipe names a method, calibrate,
 * quantize block by block and evaluate again (and the baselines). The page's worker and the CLI both call this.
 */
export async function runExperiment(req: EvalRequest, ctx: EvalContext): Promise<EvalResult> {
  const run = new Experiment(req, ctx);
  await run.open();
  await run.readTexts();
  const hit = await run.cached();
  if (hit) return hit;
  await run.calibrate();
  await run.startBackend();
  try {
    const fp = await run.loadWeights();
    const loaded = fp.weights.layerBytes();
    const before = await run.evaluateFullPrecision(fp);
    if (!run.quantize) return await run.result(before, before!, undefined, undefined, run.fpGeneration(before!));
    const { quant, ...after } = await run.quantizeAndEvaluate(run.recipe, fp, '');
    run.layerBytes = { loaded, quantized: fp.weights.layerBytes() };
    const compared = req.generate ? await run.compareGenerations(before, after, fp) : null;
    const baselines = await run.baselines(compared?.fp ?? fp);
    return await run.result(before, after, quant, baselines, compared?.report);
  } finally {
    run.dispose();
  }
}
