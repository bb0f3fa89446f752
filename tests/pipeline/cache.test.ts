// Caching and resume, in Node with the in-memory cache (the page uses the same code over IndexedDB):
// an identical experiment comes back from the cache without running; a run that stopped after its first block
// resumes from there and ends with the uninterrupted run's perplexity; a full store never fails a run.
import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { CacheFullError, memoryCache, type LabCache } from '../../src/pipeline/cache.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { defaultOptions, formRecipe } from '../../src/store/experimentSlice.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import type { EvalRequest, Progress } from '../../src/pipeline/types.ts';
import { CancelledError } from '../../src/errors.ts';
import { MODELS, sharedGpu } from '../helpers.ts';
import { startLocalHub } from '../fixtures.ts';
import { hubSource } from '../../src/model/source.ts';

const REQ: EvalRequest = {
  datasets: ['tinystories'],
  windows: 2,
  skipBefore: true,
  recipe: makeRecipe({
    calib: 'tinystories',
    nsamples: 2,
    seqlen: 256,
    seed: 0,
    steps: [{ method: 'gptq', wbits: 3 }],
  }),
};

async function run(cache?: LabCache, onProgress?: (p: Progress) => void, signal?: AbortSignal) {
  return runExperiment(REQ, {
    source: folderSource(MODELS.stories260K),
    readText: folderReader(),
    gpu: await sharedGpu(),
    cache,
    onProgress,
    signal,
  });
}

describe('cache and resume', () => {
  it('an identical experiment is answered from the cache; a run cut after block 1 resumes there with the same perplexity', async () => {
    const full = memoryCache();
    const first = await run(full);
    expect(first.cached).toBeFalsy();
    const kinds = (await full.entries()).map((e) => e.kind);
    expect(kinds.filter((k) => k === 'block').length).toBe(5);
    expect(kinds).toContain('calib');
    expect(kinds).toContain('result');

    const t = performance.now();
    const again = await run(full);
    expect(again.cached).toBe(true);
    expect(again.ppl.tinystories).toBe(first.ppl.tinystories);
    console.log(`identical experiment from the cache in ${(performance.now() - t).toFixed(0)} ms`);

    // what a reload after the first block leaves behind: the calibration windows and block 0
    const partial = memoryCache();
    for (const e of await full.entries()) {
      if (e.kind === 'calib' || (e.kind === 'block' && e.key.endsWith('|0')))
        await partial.set(e.key, await full.get(e.key), { model: e.model, kind: e.kind });
    }
    const labels: string[] = [];
    const resumed = await run(partial, (p) => labels.push(p.label));
    expect(resumed.quant!.cachedBlocks).toBe(1);
    expect(labels).toContain('gptq block 1/5 (from cache)');
    expect(labels).toContain('gptq block 2/5');
    expect(resumed.ppl.tinystories).toBe(first.ppl.tinystories);
    expect(resumed.quant!.layers.map((l) => l.relError)).toEqual(first.quant!.layers.map((l) => l.relError));
  });

  it('a quantized run reuses the full-precision figures an earlier run of the same evaluation measured, and says so; the stages come in order, each once', async () => {
    const cache = memoryCache();
    const ctx = async (onProgress?: (p: Progress) => void) => ({
      source: folderSource(MODELS.stories260K),
      readText: folderReader(),
      gpu: await sharedGpu(),
      cache,
      onProgress,
    });
    const evaluation = { datasets: ['tinystories'], windows: 1, seqlen: 128 };
    const fp = await runExperiment(evaluation, await ctx());
    expect(fp.fpCached).toBeUndefined();
    const stages: string[] = [];
    const labels: string[] = [];
    const quantized = await runExperiment(
      {
        ...evaluation,
        recipe: makeRecipe({ calib: 'tinystories', nsamples: 1, seqlen: 128, steps: [{ method: 'rtn', wbits: 4 }] }),
      },
      await ctx((p) => (stages.at(-1) !== p.stage && stages.push(p.stage), labels.push(p.label))),
    );
    expect(quantized.fpCached).toBe(true);
    expect(quantized.pplBefore).toEqual(fp.ppl);
    expect(labels).toContain('full-precision figures from the cache (the same evaluation ran before)');
    expect(stages).toEqual(['load', 'fp', 'quantize', 'evaluate']);
    // another evaluation is another full-precision figure
    const other = await runExperiment({ ...evaluation, windows: 2, recipe: quantized.config.recipe }, await ctx());
    expect(other.fpCached).toBeUndefined();
    // what the result says the model takes stored: stories260K's F32 layers, and the same with RTN W4's 4.5 bits
    expect(quantized.storage!.checkpointBits).toBe(32);
    const linearBytes = quantized.quant!.layers.reduce((s, l) => s + l.weights! * 4, 0);
    const quantBytes = quantized.quant!.layers.reduce((s, l) => s + (l.weights! * l.bits) / 8, 0);
    expect(quantized.storage!.quantizedBytes).toBe(
      Math.round(quantized.storage!.checkpointBytes - linearBytes + quantBytes),
    );
  });

  it("editing one method's options leaves another's cached blocks usable: a GPTQ run after R1 clusters changed in the form restores every block", async () => {
    const cache = memoryCache();
    const defaults = defaultOptions();
    // the page's form keeps every method's options; only the chain's steps enter the recipe and the cache keys
    const form = (R1: number) =>
      formRecipe({
        chain: 'gptq',
        options: { ...defaults, gptq: { ...defaults.gptq, wbits: 3 }, rptq: { ...defaults.rptq, R1 } },
        calib: 'tinystories',
        nsamples: 2,
        seed: 0,
        seqlen: 256,
      });
    expect(form(8)).toEqual(REQ.recipe);
    const first = await run(cache);
    expect(first.quant!.cachedBlocks).toBeUndefined();
    // another evaluation (one window), so the whole result is not the cached one: the blocks are
    const ctx = { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu: await sharedGpu(), cache };
    const second = await runExperiment({ ...REQ, windows: 1, recipe: form(8) }, ctx);
    expect(second.quant!.cachedBlocks).toBe(5);
    expect(second.quant!.blockKey).toBe(first.quant!.blockKey);
    // the same form with RPTQ chosen is another recipe: nothing of the GPTQ run is reused
    const rptq = formRecipe({
      chain: 'rptq+gptq',
      options: { ...defaults, gptq: { ...defaults.gptq, wbits: 3 }, rptq: { ...defaults.rptq, R1: 8 } },
      calib: 'tinystories',
      nsamples: 2,
      seed: 0,
      seqlen: 256,
    });
    const third = await runExperiment({ ...REQ, windows: 1, recipe: rptq }, ctx);
    expect(third.quant!.cachedBlocks).toBeUndefined();
  });

  it('a full store turns into a warning: the run finishes with the same figure and nothing stored is touched', async () => {
    const inner = memoryCache();
    await inner.set('keep', new Float32Array([1, 2, 3]), { model: 'm', kind: 'bytes' });
    const full: LabCache = {
      ...inner,
      set: async () => {
        throw new CacheFullError("This browser's storage for the lab is full.");
      },
    };
    const res = await run(full);
    expect(res.warnings?.join(' ')).toMatch(/storage for the lab is full.*without caching/);
    expect(res.ppl.tinystories).toBe((await run()).ppl.tinystories);
    expect(Array.from((await inner.get<Float32Array>('keep'))!)).toEqual([1, 2, 3]);
    expect((await inner.entries()).length).toBe(1);
  });

  it('cancel stops a quantization run with CancelledError', async () => {
    const ac = new AbortController();
    const p = run(undefined, (pr) => pr.label.startsWith('gptq block 1') && ac.abort(), ac.signal);
    await expect(p).rejects.toThrow(CancelledError);
  });

  it('model bytes from the Hub are kept: a second load reads no tensor over the network', async () => {
    const hub = await startLocalHub({ 'karpathy/stories260K': MODELS.stories260K });
    try {
      const cache = memoryCache();
      const req = { datasets: ['tinystories'], windows: 1, seqlen: 128 };
      const ctx = {
        source: hubSource('karpathy/stories260K', 'main', hub.url),
        readText: folderReader(),
        gpu: await sharedGpu(),
        cache,
      };
      const first = await runExperiment(req, ctx);
      const tensorReads = () =>
        hub.requests.filter(
          (r) => r.includes('model.safetensors') && r.startsWith('bytes=') && !r.startsWith('bytes=0-0 '),
        ).length;
      const before = tensorReads();
      expect(before).toBeGreaterThan(0);
      expect((await cache.entries()).some((e) => e.kind === 'bytes')).toBe(true);
      // a different experiment on the same model: the result is not cached, the bytes are
      const second = await runExperiment({ ...req, windows: 2 }, ctx);
      expect(tensorReads()).toBe(before);
      expect(second.ppl.tinystories).not.toBe(first.ppl.tinystories);
    } finally {
      await hub.close();
    }
  });
});
