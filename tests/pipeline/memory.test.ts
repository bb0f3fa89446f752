// Peak GPU memory predicted before a download (issue 14): the probe reads only headers, predictPeak adds the run's
// working set; both are held to the measured peak — an FP evaluation of a synthetic OPT-125m-shaped checkpoint
// (npm run synth, one block, real widths and vocabulary) and GPTQ runs of both families' fixtures.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Gpu } from '../../src/gpu/gpu.ts';
import { adapterLimits } from '../../src/gpu/device.ts';
import { synthesize } from '../../src/cli/synth.ts';
import { probeModel } from '../../src/pipeline/probe.ts';
import { predictPeak } from '../../src/pipeline/memory.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { MODELS } from '../helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'quantlab-synth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function measured(path: string, quant: boolean, seqlen: number) {
  const gpu = await Gpu.create();
  try {
    await runExperiment(
      {
        datasets: ['tinystories'],
        seqlen,
        windows: 1,
        skipBefore: quant,
        recipe: quant
          ? makeRecipe({ calib: 'tinystories', nsamples: 2, seqlen, steps: [{ method: 'gptq', wbits: 4 }] })
          : undefined,
      },
      { source: folderSource(path), readText: folderReader(), gpu },
    );
    return gpu.peakBytes;
  } finally {
    gpu.destroy();
  }
}

describe('peak GPU memory, predicted from the headers', () => {
  it('a synthetic OPT-125m-shaped block (F16, 50272-token vocabulary): FP evaluation within 10%', async () => {
    synthesize('opt-125m', dir, { layers: 1 });
    const probe = await probeModel(folderSource(dir), await adapterLimits());
    expect(probe.parameters).toBeGreaterThan(45e6);
    const predicted = predictPeak({ cfg: probe.config, ...probe.memory, seqlen: 64 });
    const peak = await measured(dir, false, 64);
    console.log(
      `synthetic opt-125m, 1 block, FP 1×64: predicted ${(predicted / 2 ** 20).toFixed(2)} MiB, measured ${(peak / 2 ** 20).toFixed(2)} MiB`,
    );
    expect(Math.abs(predicted / peak - 1)).toBeLessThan(0.1);
  });

  // (stories260K, the LLaMA path, F32: predicted 1.62 MiB, measured 1.59 MiB at 2 × 128 — in the closing note)
  it('GPTQ W4 on opt-tiny-bpe (F16: 16-bit storage): within a tenth', async () => {
    const path = MODELS.optTinyBpe;
    const probe = await probeModel(folderSource(path), await adapterLimits());
    const predicted = predictPeak({
      cfg: probe.config,
      ...probe.memory,
      seqlen: 128,
      quant: { nsamples: 2, seqlen: 128, stored16: true },
    });
    const peak = await measured(path, true, 128);
    console.log(
      `opt-tiny-bpe: GPTQ W4 2×128: predicted ${(predicted / 2 ** 20).toFixed(2)} MiB, measured ${(peak / 2 ** 20).toFixed(2)} MiB`,
    );
    expect(Math.abs(predicted / peak - 1)).toBeLessThan(0.1);
  });
});
