// Weights in 16-bit storage (issue 14, acceptance 1 and 2): the F16 fixtures evaluate to the same perplexity as
// widened to f32, stories260K (F32) stored as f16 stays within 0.1%, and opt-tiny-bpe's evaluation peaks at least
// 40% lower than with --weights f32, measured in one run.
import { describe, expect, it } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import type { WeightStorage } from '../../src/model/weights.ts';
import { MODELS } from '../helpers.ts';

/** perplexity and peak GPU bytes of an FP evaluation on a fresh device (its own peak) */
async function evaluate(model: string, dataset: string, weights: WeightStorage) {
  const gpu = await Gpu.create();
  try {
    const r = await runExperiment(
      { datasets: [dataset], seqlen: 256, windows: 2, weights },
      { source: folderSource(model), readText: folderReader(), gpu },
    );
    return { ppl: r.ppl[dataset], peak: gpu.peakBytes, stored: r.config.weights };
  } finally {
    gpu.destroy();
  }
}

describe('weights in 16-bit storage', () => {
  it('opt-tiny-bpe (F16): the same perplexity as widened to f32, and a peak at least 40% lower', async () => {
    const f32 = await evaluate(MODELS.optTinyBpe, 'wikitext2', 'f32');
    const f16 = await evaluate(MODELS.optTinyBpe, 'wikitext2', 'auto');
    console.log(
      `opt-tiny-bpe wikitext2 2×256: f32 ${f32.ppl} peak ${(f32.peak / 2 ** 20).toFixed(2)} MiB; stored ${f16.stored} ${f16.ppl} peak ${(f16.peak / 2 ** 20).toFixed(2)} MiB`,
    );
    expect(f16.stored).toBe('f16');
    expect(Math.abs(f16.ppl / f32.ppl - 1)).toBeLessThan(1e-5);
    expect(f16.peak).toBeLessThan(0.6 * f32.peak);
  });

  it('opt-tiny (F16) unchanged; stories260K (F32) stored as f16 within 0.1% of f32', async () => {
    const [a, b] = [
      await evaluate(MODELS.optTiny, 'tinystories', 'f32'),
      await evaluate(MODELS.optTiny, 'tinystories', 'auto'),
    ];
    expect(Math.abs(b.ppl / a.ppl - 1)).toBeLessThan(1e-5);
    const [c, d] = [
      await evaluate(MODELS.stories260K, 'tinystories', 'auto'),
      await evaluate(MODELS.stories260K, 'tinystories', 'f16'),
    ];
    console.log(
      `stories260K tinystories 2×256: f32 ${c.ppl}, f16 ${d.ppl} (${((d.ppl / c.ppl - 1) * 100).toFixed(4)}%)`,
    );
    expect([c.stored, d.stored]).toEqual(['f32', 'f16']);
    expect(Math.abs(d.ppl / c.ppl - 1)).toBeLessThan(1e-3);
  });
});
