// Real widths (issue 14), a section of `npm run bench` (also alone: `npx tsx bench/realWidths.ts [flags]`):
//  a. GPTQ's factorization at widths 768, 3072 and 8192: the GPU route (f32, cholesky.wgsl) against the host's f64
//     route, in one run (--factor_widths 768,3072 to leave 8192 out: on a software adapter the GPU route takes tens of
//     minutes there);
//  b. matmul GFLOP/s with f16 and bf16 weights against f32, for OPT-125m- and OPT-1.3B-shaped layers (512 tokens);
//  c. one synthetic block (npm run synth; --block opt-1.3b|opt-125m|none, default opt-1.3b on a GPU, opt-125m on a
//     software adapter) quantized with GPTQ W4 on 2 windows of 128: its time split, peak GPU bytes against the probe's
//     prediction, and the extrapolation to the whole model (time × blocks; peak with every block resident);
//  d. a Llama-3-shaped vocabulary (128256 × 4096, one block) evaluated under a 1 GB binding limit (--llama3): 1.05 GB
//     in f16, so two row chunks each of the embedding and lm_head.
import '../src/gpu/node.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu } from '../src/gpu/gpu.ts';
import { arg, runAlone } from './section.ts';
import * as ops from '../src/gpu/ops.ts';
import { gpuBackend } from '../src/gpu/backend.ts';
import { toHalfBits, type Half } from '../src/gpu/half.ts';
import { factorOnBackend } from '../src/quant/factorization.ts';
import { upperCholeskyOfInverse } from '../src/quant/linalg.ts';
import { SHAPES, synthesize, type Like } from '../src/cli/synth.ts';
import { probeModel } from '../src/pipeline/probe.ts';
import { predictPeak } from '../src/pipeline/memory.ts';
import { runExperiment } from '../src/pipeline/experiment.ts';
import { makeRecipe } from '../src/quant/recipe.ts';
import { folderSource } from '../src/model/source.node.ts';
import { folderReader } from '../src/eval/datasets.node.ts';
import { weightReport } from '../src/pipeline/types.ts';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next()),
  );
}

/** A damped Hessian of width n from random tokens (at most 512: building it is O(T·n²) on the host): what GPTQ factorizes. */
function hessian(n: number): Float64Array {
  const T = Math.min(2 * n, 512);
  const X = randn(T * n, n);
  const H = new Float64Array(n * n);
  for (let t = 0; t < T; t++) {
    const row = X.subarray(t * n, t * n + n);
    for (let i = 0; i < n; i++) {
      const xi = (2 / T) * row[i];
      for (let j = 0; j <= i; j++) H[i * n + j] += xi * row[j];
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) H[j * n + i] = H[i * n + j];
  let mean = 0;
  for (let d = 0; d < n; d++) mean += H[d * n + d] / n;
  for (let d = 0; d < n; d++) H[d * n + d] += 0.01 * mean;
  return H;
}

export async function realWidths(gpu: Gpu, results: Record<string, unknown>): Promise<void> {
  const be = gpuBackend(gpu);
  const software = gpu.info.software;

  console.log(
    '\nGPTQ factorization U = chol(H⁻¹, upper): GPU route (f32, blocked Cholesky + triangular inverse) vs host route (f64)',
  );
  console.log('| width | GPU s | CPU f64 s | CPU / GPU | max |U_gpu − U_f64| / max |U| |');
  console.log('|---|---|---|---|---|');
  const factor: unknown[] = [];
  be.release(await factorOnBackend(be, hessian(128), 128)); // pipelines compiled
  for (const n of (arg('factor_widths', '768,3072,8192') ?? '').split(',').filter(Boolean).map(Number)) {
    const H = hessian(n);
    let t = performance.now();
    const U = await factorOnBackend(be, H, n);
    await gpu.sync();
    const gpuS = (performance.now() - t) / 1000;
    t = performance.now();
    const ref = upperCholeskyOfInverse(H, n);
    const cpuS = (performance.now() - t) / 1000;
    const u = await gpu.read(U);
    be.release(U);
    let d = 0;
    let m = 0;
    for (let i = 0; i < u.length; i++) {
      d = Math.max(d, Math.abs(u[i] - ref[i]));
      m = Math.max(m, Math.abs(ref[i]));
    }
    console.log(
      `| ${n} | ${gpuS.toFixed(2)} | ${cpuS.toFixed(2)} | ${(cpuS / gpuS).toFixed(2)}× | ${(d / m).toExponential(2)} |`,
    );
    factor.push({ width: n, gpuSeconds: gpuS, cpuSeconds: cpuS, relDiff: d / m });
  }
  results.factorization = factor;

  console.log(
    "\nmatmul y = x·Wᵀ with 16-bit weights (widened in registers) vs f32 weights, 512 tokens, the adapter's kernel variant",
  );
  console.log('| shape (M×K→N) | f32 GFLOP/s | f16 GFLOP/s | bf16 GFLOP/s | f16 / f32 |');
  console.log('|---|---|---|---|---|');
  const mm: unknown[] = [];
  for (const [M, K, N] of [
    [512, 768, 3072],
    [512, 3072, 768],
    [512, 2048, 8192],
    [512, 8192, 2048],
  ]) {
    const x = gpu.upload(randn(M * K, 1), [M, K]);
    const w = randn(N * K, 2).map((v) => v * 0.02);
    const g: Record<string, number> = {};
    for (const format of ['f32', 'f16', 'bf16'] as const) {
      const W =
        format === 'f32' ? gpu.upload(w, [N, K]) : gpu.upload16(toHalfBits(w, format as Half), format as Half, [N, K]);
      gpu.release(ops.matmul(gpu, x, W, null));
      await gpu.sync();
      const iters = software ? 2 : 10;
      const t = performance.now();
      for (let i = 0; i < iters; i++) gpu.release(ops.matmul(gpu, x, W, null));
      await gpu.sync();
      g[format] = (2 * M * N * K * iters) / ((performance.now() - t) * 1e6);
      gpu.release(W);
    }
    gpu.release(x);
    console.log(
      `| ${M}×${K}→${N} | ${g.f32.toFixed(2)} | ${g.f16.toFixed(2)} | ${g.bf16.toFixed(2)} | ${(g.f16 / g.f32).toFixed(2)}× |`,
    );
    mm.push({ M, K, N, ...g });
  }
  results.matmulStorage = mm;

  const like = (arg('block', software ? 'opt-125m' : 'opt-1.3b') ?? 'none') as Like | 'none';
  if (like !== 'none') {
    const dir = mkdtempSync(join(tmpdir(), 'quantlab-bench-'));
    try {
      synthesize(like, dir, { layers: 1 });
      const probe = await probeModel(folderSource(dir), {
        maxStorageBufferBindingSize: gpu.limits.maxStorageBufferBindingSize,
        maxBufferSize: gpu.limits.maxBufferSize,
      });
      const predicted = predictPeak({
        cfg: probe.config,
        ...probe.memory,
        seqlen: 128,
        quant: { nsamples: 2, seqlen: 128, stored16: true },
      });
      const before = gpu.peakBytes;
      gpu.peakBytes = gpu.liveBytes;
      const t = performance.now();
      const r = await runExperiment(
        {
          datasets: ['tinystories'],
          seqlen: 128,
          windows: 1,
          skipBefore: true,
          recipe: makeRecipe({ calib: 'tinystories', nsamples: 2, seqlen: 128, steps: [{ method: 'gptq', wbits: 4 }] }),
        },
        { source: folderSource(dir), readText: folderReader(), gpu },
      );
      const seconds = (performance.now() - t) / 1000;
      const peak = gpu.peakBytes;
      gpu.peakBytes = Math.max(before, peak);
      const w = weightReport(r.quant)!;
      const blocks = SHAPES[like].layers;
      const blockBytes = probe.blockBytes / 2; // f16
      console.log(
        `\none ${like}-shaped block (synthetic F16), GPTQ W4 on 2 windows of 128: ${seconds.toFixed(1)} s (quantization ${(r.quant!.totalMs / 1000).toFixed(1)} s: Hessians ${(w.hessianMs / 1000).toFixed(1)} s, factorization ${(w.factorMs / 1000).toFixed(1)} s, column loop ${(w.loopMs / 1000).toFixed(1)} s; ${w.factorization})`,
      );
      console.log(
        `peak GPU ${MiB(peak)}, the probe predicted ${MiB(predicted)} (${((predicted / peak - 1) * 100).toFixed(1)}%)`,
      );
      console.log(
        `whole model (${blocks} blocks): about ${(((r.quant!.totalMs / 1000) * blocks) / 60).toFixed(1)} min of quantization; peak about ${MiB(peak + (blocks - 1) * blockBytes)} with every block resident in f16`,
      );
      results.block = {
        like,
        seconds,
        quantizeMs: r.quant!.totalMs,
        hessianMs: w.hessianMs,
        factorMs: w.factorMs,
        loopMs: w.loopMs,
        factorization: w.factorization,
        peakBytes: peak,
        predictedPeakBytes: predicted,
        blocks,
        extrapolatedQuantizeMinutes: ((r.quant!.totalMs / 1000) * blocks) / 60,
      };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (process.argv.includes('--llama3')) {
    const dir = mkdtempSync(join(tmpdir(), 'quantlab-bench-'));
    try {
      synthesize('llama3-8b', dir, { layers: 1 });
      const limit = 1e9;
      const small = await Gpu.create();
      const probe = await probeModel(folderSource(dir), { maxStorageBufferBindingSize: limit, maxBufferSize: limit });
      const t = performance.now();
      const r = await runExperiment(
        { datasets: ['tinystories'], seqlen: 128, windows: 1, maxBindingBytes: limit },
        { source: folderSource(dir), readText: folderReader(), gpu: small },
      );
      console.log(
        `\nLlama-3-shaped vocabulary (128256 × 4096, f16, one block) under a 1 GB binding limit: ${probe.vocabChunks} row chunks of the embedding and of lm_head; perplexity ${r.ppl.tinystories.toFixed(1)} in ${((performance.now() - t) / 1000).toFixed(1)} s, peak ${MiB(small.peakBytes)}`,
      );
      results.llama3 = {
        vocabChunks: probe.vocabChunks,
        seconds: (performance.now() - t) / 1000,
        peakBytes: small.peakBytes,
        ppl: r.ppl.tinystories,
      };
      small.destroy();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await runAlone('realWidths.ts', realWidths);
