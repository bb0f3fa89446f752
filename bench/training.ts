// Learnable weight clipping (issue 24), a section of `npm run bench` (also alone: `npx tsx bench/training.ts [flags]`):
// one synthetic block each of OPT-125m's and TinyLlama's widths (npm run synth; --train_like opt-125m,tinyllama),
// DuQuant W4A4 + RTN W4 with --lwc for --train_epochs (default 1) epochs on 2 calibration windows of --train_seqlen
// (default 128) tokens: one training step's time split into forward (with the tape), backward (to the clip bounds)
// and optimizer (AdamW), the step against its forward, and the peak GPU memory of the run.
import '../src/gpu/node.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../src/gpu/gpu.ts';
import { arg, runAlone } from './section.ts';
import { synthesize, type Like } from '../src/cli/synth.ts';
import { runExperiment } from '../src/pipeline/experiment.ts';
import { makeRecipe } from '../src/quant/recipe.ts';
import { folderSource } from '../src/model/source.node.ts';
import { folderReader } from '../src/eval/datasets.node.ts';
import { weightReport } from '../src/pipeline/types.ts';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export async function training(gpu: Gpu, results: Record<string, unknown>): Promise<void> {
  const likes = (arg('train_like', 'opt-125m,tinyllama') ?? '').split(',').filter(Boolean) as Like[];
  const epochs = Number(arg('train_epochs', '1'));
  const seqlen = Number(arg('train_seqlen', '128'));
  const rows: Record<string, unknown>[] = [];
  console.log(
    `\nlearnable weight clipping: one training step of one block (DuQuant W4A4, RTN W4 --lwc), 2 windows of ${seqlen}, ${epochs} epoch(s)`,
  );
  console.log('| block | steps | forward ms | backward ms | optimizer ms | step ms | step / forward | peak GPU |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const like of likes) {
    const dir = mkdtempSync(join(tmpdir(), 'quantlab-bench-train-'));
    try {
      synthesize(like, dir, { layers: 1 });
      const before = gpu.peakBytes;
      gpu.peakBytes = gpu.liveBytes;
      const r = await runExperiment(
        {
          datasets: ['tinystories'],
          seqlen,
          windows: 1,
          skipBefore: true,
          recipe: makeRecipe({
            calib: 'tinystories',
            nsamples: 2,
            seqlen,
            steps: [
              { method: 'duquant', abits: 4, alpha: 0.5, maxRotationStep: 8 },
              { method: 'rtn', wbits: 4, lwc: true, epochs },
            ],
          }),
        },
        { source: folderSource(dir), readText: folderReader(), gpu },
      );
      const peak = gpu.peakBytes;
      gpu.peakBytes = Math.max(before, peak);
      const t = weightReport(r.quant)!.clipTraining!;
      const per = (ms: number) => ms / t.steps;
      const step = per(t.ms.forward + t.ms.backward + t.ms.optimizer);
      console.log(
        `| ${like} | ${t.steps} | ${per(t.ms.forward).toFixed(0)} | ${per(t.ms.backward).toFixed(0)} | ${per(t.ms.optimizer).toFixed(1)} | ${step.toFixed(0)} | ${(step / per(t.ms.forward)).toFixed(2)}× | ${MiB(peak)} |`,
      );
      rows.push({
        like,
        steps: t.steps,
        forwardMs: per(t.ms.forward),
        backwardMs: per(t.ms.backward),
        optimizerMs: per(t.ms.optimizer),
        stepMs: step,
        stepOverForward: step / per(t.ms.forward),
        peakBytes: peak,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  results.training = rows;
}

await runAlone('training.ts', training);
