// One experiment: load a model, evaluate it in full precision, and when the recipe names a method, calibrate,
// quantize block by block and evaluate again. The page's worker and the CLI both call this.
import { gpuBackend, referenceBackend, type Backend } from '../gpu/backend.ts';
import { Gpu } from '../gpu/gpu.ts';
import { evalText, checkDatasetName, type EvalText, type TextReader } from '../eval/datasets.ts';
import { perplexity, tokenizeEval } from '../eval/perplexity.ts';
import { scoreTask, type TaskScore } from '../eval/zeroShot.ts';
import { checkTaskName, loadTask, type ZeroShotItem, type ZeroShotTask } from '../eval/zeroShotTasks.ts';
import { Decoder } from '../model/forward.ts';
import { loadModel } from '../model/load.ts';
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
import { blockKeyPrefix, cachedSource, hashOf, modelKeyOf, textDigest, tolerantCache, type LabCache } from './cache.ts';
import { maxWindow, parameterCount, type ModelConfig } from '../model/config.ts';
import { linearShapes } from '../model/families.ts';
import { storageSize } from './storageSize.ts';
import type { EvalRequest, EvalResult, Progress, Stage, TaskScore as Score } from './types.ts';

/** A full-precision evaluation as the cache keeps it: the same figures whatever recipe follows it. */
interface FpEvaluation {
  ppl: Record<string, number>;
  windows: Record<string, number>;
  evalMs: Record<string, number>;
  tasks: Record<string, Score>;
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
async function hashTexts(
  evalTexts: Record<string, EvalText>,
  calib: string | null,
  taskTexts: Record<string, string>,
): Promise<{ eval: Record<string, string>; calib?: string; tasks?: Record<string, string> }> {
  const out: { eval: Record<string, string>; calib?: string; tasks?: Record<string, string> } = { eval: {} };
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
    for (const b of step?.method.baselines?.(step.options as never) ?? []) {
      if (!names.includes(b.name)) continue;
      const replaced = completeStep({ ...b.options, method: b.method ?? step!.method.name });
      out.push({ name: b.name, recipe: { ...r, steps: r.steps.map((s, i) => (i === index ? replaced : s)) } });
    }
  }
  return out;
}

export async function runExperiment(req: EvalRequest, ctx: EvalContext): Promise<EvalResult> {
  req.datasets.forEach(checkDatasetName);
  const taskNames = (req.tasks ?? []).map(checkTaskName);
  if (req.limit !== undefined && (!Number.isInteger(req.limit) || req.limit < 1))
    throw new OptionsError(`--limit must be a positive integer (got ${req.limit})`);
  const r = req.recipe ?? makeRecipe({ seqlen: req.seqlen ?? 2048 });
  validateRecipe(r);
  const quantize = r.steps.length > 0;
  const t0 = performance.now();
  let last: Progress = { stage: 'load', label: '', fraction: 0 };
  const report = (p: Progress) => ctx.onProgress?.((last = p));
  /** what went wrong around the run (a full cache): said once, never stored with the figures */
  const warnings: string[] = [];
  /** what the figures themselves carry (calibration overlapping evaluation): stored with them */
  const caveats: string[] = [];
  const cache = ctx.cache
    ? tolerantCache(ctx.cache, (w) => (warnings.push(w), report({ ...last, label: `warning: ${w}` })))
    : null;
  const group = ctx.source.id;
  // bytes read while the model loads move the load bar; later reads (a block's weights for quantization) do not
  let loading = true;
  let totalBytes: number | undefined;
  const source = withProgress(
    cache && ctx.source.remote ? cachedSource(ctx.source, cache) : ctx.source,
    (loaded, file) => {
      if (loading)
        report({
          stage: 'load',
          label: `reading ${file}`,
          fraction: totalBytes ? Math.min(0.99, loaded / totalBytes) : 0,
          loadedBytes: loaded,
          totalBytes,
        });
    },
  );
  const model = await loadModel(source);
  totalBytes = model.checkpoint.bytes;
  validateRecipe(r, model.config);
  const cfg = r.hiddenLayerNum ? { ...model.config, layers: r.hiddenLayerNum } : model.config;
  // capped at the positions the model has (and Phi-3's sliding window, so no window ever needs its mask)
  const seqlen = Math.min(req.seqlen ?? r.seqlen, maxWindow(cfg));
  if (!Number.isInteger(seqlen) || seqlen < 2)
    throw new OptionsError(`seqlen must be an integer ≥ 2 (got ${req.seqlen})`);

  // every text is read (and checked) before anything is looked up: cache keys name the texts by their bytes, so a
  // different text under the same dataset name never returns another text's figures
  const evalTexts: Record<string, EvalText> = {};
  for (const ds of req.datasets) evalTexts[ds] = await evalText(ds, ctx.readText, seqlen);
  const tasks: Partial<Record<ZeroShotTask, ZeroShotItem[]>> = {};
  const taskTexts: Record<string, string> = {};
  for (const task of taskNames)
    ({ items: tasks[task], text: taskTexts[task] } = await loadTask(task, ctx.readText, req.limit));
  const calibText = quantize ? await calibrationText(r.calib, ctx.readText, ctx.readFile) : null;
  if (calibText !== null) {
    const overlap = calibrationOverlap(
      calibText,
      Object.fromEntries(Object.entries(evalTexts).map(([ds, t]) => [ds, t.text])),
    );
    if (overlap.length)
      caveats.push(
        `the calibration text (${r.calib}) overlaps the evaluation text of ${overlap.join(', ')}: ` +
          'the quantized figure there is flattered',
      );
  }
  const textHashes = cache ? await hashTexts(evalTexts, calibText, taskTexts) : null;
  const modelKey = cache ? await modelKeyOf(group, model.config, model.checkpoint) : '';
  const resultKey = cache
    ? `result|${modelKey}|` +
      (await hashOf({
        r,
        datasets: req.datasets,
        seqlen: req.seqlen,
        windows: req.windows,
        skipBefore: req.skipBefore,
        baselines: req.baselines,
        backend: req.backend,
        checkFinite: req.checkFinite,
        texts: textHashes,
        ...(req.weights && req.weights !== 'auto' ? { weights: req.weights } : {}),
        ...(taskNames.length ? { tasks: taskNames, limit: req.limit } : {}),
      }))
    : '';
  const hit = cache ? await cache.get<EvalResult>(resultKey) : undefined;
  if (hit) {
    report({ stage: 'evaluate', label: 'identical experiment found in the cache', fraction: 1 });
    return { ...hit, cached: true, warnings };
  }
  // the full-precision evaluation does not depend on the recipe: a quantized run reuses the one an earlier run of the
  // same model, texts and evaluation made (the blocks it evaluates are the first cfg.layers)
  const fpKey = cache
    ? `fp|${modelKey}|` +
      (await hashOf({
        layers: cfg.layers,
        datasets: req.datasets,
        seqlen,
        windows: req.windows,
        backend: req.backend,
        texts: { eval: textHashes!.eval, tasks: textHashes!.tasks },
        ...(req.weights && req.weights !== 'auto' ? { weights: req.weights } : {}),
        ...(req.maxBindingBytes ? { maxBindingBytes: req.maxBindingBytes } : {}),
        ...(taskNames.length ? { tasks: taskNames, limit: req.limit } : {}),
      }))
    : '';
  // calibration is tokenized and checked before any GPU work: a too-short text fails here
  const calibSeqlen = Math.min(r.seqlen, maxWindow(cfg));
  let calib: Uint32Array[] = [];
  if (calibText !== null) {
    const calibHash = await hashOf({
      text: textHashes?.calib,
      nsamples: r.nsamples,
      seqlen: calibSeqlen,
      seed: r.seed,
    });
    const calibKey = `calib|${modelKey}|${calibHash}`;
    calib = (cache && (await cache.get<Uint32Array[]>(calibKey))) || [];
    if (calib.length === 0) {
      calib = sampleWindows(model.tokenizer.encode(calibText), r.nsamples, calibSeqlen, r.seed);
      await cache?.set(calibKey, calib, { model: group, kind: 'calib' });
    }
  }
  /** finished blocks of a recipe, kept across reloads */
  const blockCache = async (rq: QuantRecipe): Promise<BlockCache | undefined> => {
    if (!cache) return undefined;
    const prefix = await blockKeyPrefix(modelKey, rq, textHashes!.calib!);
    return {
      key: prefix,
      load: (layer) => cache.get<CachedBlock>(prefix + layer),
      save: (layer, b) => cache.set(prefix + layer, b, { model: group, kind: 'block' }),
    };
  };

  const backendName = req.backend ?? 'webgpu';
  const gpu = backendName === 'webgpu' ? (ctx.gpu ?? (await Gpu.create())) : null;
  const stores: WeightStore<unknown>[] = [];
  try {
    const base = (gpu ? gpuBackend(gpu) : referenceBackend()) as Backend<unknown>;
    const be = req.maxBindingBytes
      ? { ...base, maxTensorBytes: Math.min(base.maxTensorBytes, req.maxBindingBytes) }
      : base;
    const residentBlocks = blocksThatFit(cfg, req.maxResidentBytes ?? DEFAULT_RESIDENT_BYTES);
    const loadWeights = async () => {
      const w = new WeightStore(be, cfg, model.checkpoint, residentBlocks, req.weights ?? 'auto');
      stores.push(w);
      w.validate();
      await w.global();
      for (let i = 0; i < Math.min(cfg.layers, residentBlocks); i++) await w.block(i);
      return { weights: w, decoder: new Decoder(be, cfg, w) };
    };
    const fp = await loadWeights();
    loading = false;
    report({
      stage: 'load',
      label: 'model loaded',
      fraction: 1,
      loadedBytes: model.checkpoint.bytes,
      totalBytes: model.checkpoint.bytes,
    });
    const loadMs = performance.now() - t0;

    let tokensScored = 0;
    let scoringMs = 0;
    const evaluateAll = async (
      decoder: Decoder<unknown>,
      phase: string,
      stage: Stage = 'evaluate',
      outer = (f: number) => f,
    ): Promise<FpEvaluation> => {
      report({ stage, label: `${phase}evaluation starting`, fraction: outer(0) });
      const ppl: Record<string, number> = {};
      const windows: Record<string, number> = {};
      const evalMs: Record<string, number> = {};
      for (const ds of req.datasets) {
        const ids = tokenizeEval(model.tokenizer, evalTexts[ds]);
        const t1 = performance.now();
        const res = await perplexity(decoder, ids, seqlen, {
          windows: req.windows,
          signal: ctx.signal,
          checkFinite: req.checkFinite,
          onProgress: (p) =>
            report({
              stage,
              label: `${phase}${ds} window ${p.window}/${p.windows} (ppl ${p.ppl.toFixed(3)})`,
              fraction: outer(p.window / p.windows),
            }),
        });
        evalMs[ds] = performance.now() - t1;
        scoringMs += evalMs[ds];
        tokensScored += res.windows * seqlen;
        ppl[ds] = res.ppl;
        windows[ds] = res.windows;
      }
      const scores: Record<string, TaskScore> = {};
      for (const task of taskNames) {
        scores[task] = await scoreTask(decoder, model.tokenizer, task, tasks[task]!, {
          ...req.packing,
          signal: ctx.signal,
          onProgress: (p) => {
            const left = (p.total - p.done) / p.itemsPerSecond;
            report({
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
      return { ppl, windows, evalMs, tasks: scores };
    };
    /**
     * quantizes the target's weights in place with a recipe, then evaluates them; a baseline runs both inside the
     * baselines stage (its share of it: [lo, hi), half quantization and half evaluation)
     */
    const quantizeAndEvaluate = async (
      rq: QuantRecipe,
      target: Awaited<ReturnType<typeof loadWeights>>,
      phase: string,
      share?: [number, number],
    ) => {
      const stage: Stage = share ? 'baselines' : 'quantize';
      const part = (a: number, b: number) => (f: number) =>
        share ? share[0] + (share[1] - share[0]) * (a + (b - a) * f) : f;
      const inQuant = part(0, 0.5);
      const blocks = await blockCache(rq);
      report({
        stage,
        label: `${phase}${chainOf(rq)} block 0/${cfg.layers}: calibrating`,
        fraction: inQuant(0),
        blockKey: blocks?.key,
        blocks: cfg.layers,
      });
      const quant = await quantizeModel(rq, calib, {
        decoder: target.decoder,
        weights: target.weights,
        signal: ctx.signal,
        cache: blocks,
        onBlock: (done, total, _, restored) =>
          report({
            stage,
            label: `${phase}${chainOf(rq)} block ${done}/${total}${restored ? ' (from cache)' : ''}`,
            fraction: inQuant(done / total),
            fromCache: restored,
            blockKey: blocks?.key,
            blocks: total,
          }),
      });
      return {
        quant,
        ...(await evaluateAll(
          target.decoder,
          `${phase}${recipeLabel(rq)} `,
          share ? 'baselines' : 'evaluate',
          part(share ? 0.5 : 0, 1),
        )),
      };
    };

    let fpCached = false;
    const fpEvaluation = async (): Promise<FpEvaluation | null> => {
      if (quantize && req.skipBefore) return null;
      const stage: Stage = quantize ? 'fp' : 'evaluate';
      const known = cache ? await cache.get<FpEvaluation>(fpKey) : undefined;
      if (known) {
        fpCached = true;
        report({
          stage,
          label: 'full-precision figures from the cache (the same evaluation ran before)',
          fraction: 1,
          fromCache: true,
        });
        return known;
      }
      const ev = await evaluateAll(fp.decoder, quantize ? 'FP ' : '', stage);
      await cache?.set(fpKey, ev, { model: group, kind: 'result' });
      return ev;
    };
    const before = await fpEvaluation();
    let after = before!;
    let quant;
    let baselines: EvalResult['baselines'];
    if (quantize) {
      ({ quant, ...after } = await quantizeAndEvaluate(r, fp, ''));
      const variants = baselineRecipes(r, req.baselines);
      if (variants.length) {
        baselines = [];
        let previous = fp;
        for (const [i, { name, recipe: rb }] of variants.entries()) {
          // each baseline quantizes a fresh full-precision copy; the last one's weights leave the GPU first
          previous.weights.dispose();
          previous = await loadWeights();
          const b = await quantizeAndEvaluate(rb, previous, `baseline ${name}: `, [
            i / variants.length,
            (i + 1) / variants.length,
          ]);
          baselines.push({
            name,
            label: recipeLabel(rb),
            ppl: b.ppl,
            ...(taskNames.length ? { tasks: b.tasks } : {}),
            layers: b.quant.layers,
          });
        }
      }
    }
    const { ppl, windows, evalMs, tasks: taskScores } = after;
    const result: EvalResult = {
      model: ctx.source.id,
      modelType: cfg.modelType,
      parameters: model.parameters,
      config: {
        ...recipeBits(r),
        seqlen,
        windows: req.windows,
        backend: backendName,
        recipe: quantize ? r : undefined,
        steps: quantize ? chainOf(r) : undefined,
        ...(taskNames.length && req.limit ? { limit: req.limit } : {}),
        weights: stores[0]?.linearFormat,
      },
      ppl,
      pplBefore: quantize ? before?.ppl : undefined,
      ...(fpCached ? { fpCached } : {}),
      modelConfig: cfg,
      storage: storageSize(cfg, model.checkpoint, quant?.layers),
      ...(taskNames.length ? { tasks: taskScores, tasksBefore: quantize ? before?.tasks : undefined } : {}),
      quant,
      ...(model.config.gptq ? { checkpoint: { format: 'gptq' as const, ...model.config.gptq } } : {}),
      baselines,
      windows,
      timings: { loadMs, evalMs, tokensPerSecond: scoringMs > 0 ? tokensScored / (scoringMs / 1000) : 0 },
      device: gpu
        ? { description: gpu.info.description, software: gpu.info.software, shaderF16: gpu.info.shaderF16 }
        : null,
      peakGpuBytes: gpu?.peakBytes ?? 0,
      ...(caveats.length ? { caveats } : {}),
    };
    await cache?.set(resultKey, result, { model: group, kind: 'result' });
    return { ...result, warnings };
  } finally {
    for (const w of stores) w.dispose();
    if (gpu && !ctx.gpu) gpu.destroy();
  }
}
