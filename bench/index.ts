// npm run bench: our kernels against a peer on the same adapter in the same run, reported as ratios.
//  1. matmul GFLOP/s for OPT-125m-shaped linear layers (512 tokens × 768→768, 768→3072, 3072→768),
//     ours (both kernel variants) vs @tensorflow/tfjs-backend-webgpu's matMul(x, W, false, true) — the same y = x·Wᵀ.
//  2. forward-pass tokens/s for the fixture models, WebGPU vs the TypeScript reference.
//  3. GPTQ per layer on OPT-125m-shaped layers: Hessian, factorization, column loop; Hessian and update GFLOP/s.
//  4. RPTQ statistics: range collection tokens/s; k-means time for 768 and 3072 channels × 32 clusters.
//  3b. CLAQ on the same layers, beside GPTQ: Hessian (shared), factorization, column loop without k-means, k-means
//     (the codebooks: the loop with k-means minus the loop without).
//  5. DuQuant: greedy rotation construction (GPU kernels vs the host search) and the online transform's cost (two
//     block rotations, the permutation and per-token quantization) against the linear layers it feeds, for OPT-125m's
//     widths 768 and 3072 and TinyLlama's 2048 and 5632, 512 tokens.
//  6. zero-shot scoring, the fixture models on every task's first N items: items/s of packed WebGPU scoring (shared
//     contexts, batch 8) against WebGPU without sharing (one forward per choice) and the plain CPU reference (one
//     sequence per request); the largest |Δ log-likelihood| and whether acc / acc_norm (lambada: greedy flags) match.
//  7. real widths (realWidths.ts): the factorization routes at 768, 3072, 8192; matmul with 16-bit weights vs f32; one
//     synthetic OPT-1.3B-shaped block (opt-125m on a software adapter) quantized, its peak against the probe's
//     prediction and the whole-model extrapolation; with --llama3, a Llama-3 vocabulary under a 1 GiB binding limit.
//  8. export and import (exportImport.ts): a GPTQ layer dequantized on the GPU vs its host twin at OPT-1.3B's shapes;
//     a synthetic OPT-125m-shaped checkpoint exported in each format (MB/s, size against F16) and loaded back.
//  9. learnable weight clipping (training.ts): one training step of an OPT-125m- and a TinyLlama-shaped block split into
//     forward, backward and optimizer, the step against its forward, and the run's peak GPU memory.
// 10. generation (generation.ts): OPT-125m-, OPT-1.3B- and TinyLlama-shaped blocks in f16 and as packed RTN W4/W3 g128:
//     prefill and decode tokens/s with the KV cache and the weight bytes a decoded token reads, against f16.
// Flags: --iters N (default 5), --json FILE, --gptq_windows N, --skip_gptq, --skip_claq, --duquant_steps N (default 256; 16 on a
// software adapter, where the figures are per step), --zeroshot_limit N (default 200; 0 = every item), --skip_zeroshot, --skip_widths,
// --skip_export (and exportImport.ts's --export_layers N), --skip_training (and training.ts's --train_like, --train_epochs,
// --train_seqlen), --skip_generation (and generation.ts's --gen_like, --gen_layers, --gen_tokens, --gen_prompt), and realWidths.ts's --factor_widths 768,3072,8192, --block opt-1.3b|opt-125m|none, --llama3.
import '../src/gpu/node.ts';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../src/gpu/gpu.ts';
import { nodeGpuInstance } from '../src/gpu/node.ts';
import { realWidths } from './realWidths.ts';
import { exportImport } from './exportImport.ts';
import { training } from './training.ts';
import { generation } from './generation.ts';
import { arg } from './section.ts';
import * as ops from '../src/gpu/ops.ts';
import { gpuBackend, referenceBackend, type Backend } from '../src/gpu/backend.ts';
import { Decoder } from '../src/model/forward.ts';
import { WeightStore } from '../src/model/weights.ts';
import { loadModel } from '../src/model/load.ts';
import { folderSource } from '../src/model/source.node.ts';
import { folderReader } from '../src/eval/datasets.node.ts';
import { evalText } from '../src/eval/datasets.ts';
import { tokenizeEval, windowsOf } from '../src/eval/perplexity.ts';
import { aggregate, scoreItems, type PackingOptions } from '../src/eval/zeroShot.ts';
import { loadTask, ZERO_SHOT_TASKS } from '../src/eval/zeroShotTasks.ts';

const ITERS = Number(arg('iters', '5'));
const MODELS = fileURLToPath(new URL('../../shared/models/', import.meta.url));

const gpu = await Gpu.create();
console.log(
  `adapter: ${gpu.info.description}${gpu.info.software ? ' (software)' : ''}, shader-f16: ${gpu.info.shaderF16}`,
);
Object.defineProperty(globalThis, 'navigator', { value: { gpu: nodeGpuInstance() }, configurable: true });
const tf = await import('@tensorflow/tfjs-core');
await import('@tensorflow/tfjs-backend-webgpu');
if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu could not start on this adapter');

function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return Float32Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next()),
  );
}

async function timeIt(run: () => void | Promise<void>, sync: () => Promise<void>): Promise<number> {
  run();
  await sync(); // warm-up: pipeline compilation
  const t0 = performance.now();
  for (let i = 0; i < ITERS; i++) await run();
  await sync();
  return (performance.now() - t0) / ITERS;
}

const results: Record<string, unknown> = {
  adapter: gpu.info.description,
  software: gpu.info.software,
  iters: ITERS,
  matmul: [],
  forward: [],
};
console.log(`\nmatmul y[M,N] = x[M,K]·W[N,K]ᵀ, ${ITERS} iterations after a warm-up`);
console.log('| shape (M×K→N) | ours tiled GFLOP/s | ours direct GFLOP/s | tfjs-webgpu GFLOP/s | best ours / tfjs |');
console.log('|---|---|---|---|---|');
for (const [M, K, N] of [
  [512, 768, 768],
  [512, 768, 3072],
  [512, 3072, 768],
]) {
  const xh = randn(M * K, 1);
  const wh = randn(N * K, 2);
  const flops = 2 * M * N * K;
  const x = gpu.upload(xh, [M, K]);
  const W = gpu.upload(wh, [N, K]);
  const ours: Record<string, number> = {};
  for (const variant of ['tiled', 'direct'] as const) {
    gpu.kernelVariant = variant;
    const ms = await timeIt(
      () => gpu.release(ops.matmul(gpu, x, W, null)),
      () => gpu.sync(),
    );
    ours[variant] = flops / (ms * 1e6);
  }
  const xt = tf.tensor2d(xh, [M, K]);
  const wt = tf.tensor2d(wh, [N, K]);
  let last: InstanceType<typeof tf.Tensor> | null = null;
  const tfMs = await timeIt(
    () => {
      last?.dispose();
      last = tf.matMul(xt, wt, false, true);
    },
    async () => {
      await last!.data();
    },
  );
  const tfG = flops / (tfMs * 1e6);
  const best = Math.max(ours.tiled, ours.direct);
  console.log(
    `| ${M}×${K}→${N} | ${ours.tiled.toFixed(2)} | ${ours.direct.toFixed(2)} | ${tfG.toFixed(2)} | ${(best / tfG).toFixed(2)}× |`,
  );
  (results.matmul as unknown[]).push({
    M,
    K,
    N,
    oursTiled: ours.tiled,
    oursDirect: ours.direct,
    tfjs: tfG,
    ratio: best / tfG,
  });
  gpu.release(x);
  gpu.release(W);
  xt.dispose();
  wt.dispose();
}
gpu.kernelVariant = gpu.info.software ? 'direct' : 'tiled';

console.log('\nforward pass, 512-token windows of tinystories (NLL included)');
console.log('| model | WebGPU tokens/s | reference tokens/s | ratio |');
console.log('|---|---|---|---|');
for (const name of ['stories260K', 'opt-tiny']) {
  const m = await loadModel(folderSource(`${MODELS}${name}`));
  const ids = tokenizeEval(m.tokenizer, await evalText('tinystories', folderReader(), 512));
  const windows = windowsOf(ids, 512, 3);
  const tps = async <T>(be: Backend<T>) => {
    const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
    await dec.windowNll(windows[0]); // warm-up
    const t0 = performance.now();
    for (const w of windows) await dec.windowNll(w);
    return (windows.length * 512) / ((performance.now() - t0) / 1000);
  };
  const g = await tps(gpuBackend(gpu));
  const r = await tps(referenceBackend());
  console.log(`| ${name} | ${g.toFixed(0)} | ${r.toFixed(0)} | ${(g / r).toFixed(2)}× |`);
  (results.forward as unknown[]).push({ model: name, webgpuTokensPerSecond: g, referenceTokensPerSecond: r });
}
// ---- GPTQ on OPT-125m-shaped layers -------------------------------------------------------------------------------
// Random weights, random calibration inputs ("128 × 512-token calibration" on real GPUs; a software adapter measures
// fewer windows and extrapolates the Hessian linearly in tokens, which is exact for this kernel's cost).
if (!process.argv.includes('--skip_gptq')) {
  const windows = Number(arg('gptq_windows', gpu.info.software ? '2' : '128'));
  console.log(
    `\nGPTQ per layer (W4, per row, blocksize 128), calibration ${windows} × 512 tokens${windows !== 128 ? ' measured, Hessian extrapolated to 128 × 512' : ''}`,
  );
  console.log(
    '| layer [out × in] | Hessian s (128×512) | factorization s (CPU f64) | column loop s | Hessian GFLOP/s | update GFLOP/s |',
  );
  console.log('|---|---|---|---|---|---|');
  const { HessianAccumulator, gptq } = await import('../src/quant/gptq.ts');
  const claqRows: string[] = [];
  for (const [name, R, K] of [
    ['q_proj', 768, 768],
    ['fc1', 3072, 768],
    ['fc2', 768, 3072],
  ] as const) {
    const be = gpuBackend(gpu);
    const acc = new HessianAccumulator(be, K);
    const X = gpu.upload(randn(512 * K, 3), [512, K]);
    acc.add(X); // warm-up compile
    await gpu.sync();
    const acc2 = new HessianAccumulator(be, K);
    const tH = performance.now();
    for (let w = 0; w < windows; w++) acc2.add(X);
    await gpu.sync();
    const hMs = performance.now() - tH;
    const hGflops = (2 * K * K * 512 * windows) / (hMs * 1e6);
    const H = await acc2.read();
    acc.dispose();
    acc2.dispose();
    gpu.release(X);
    const W = randn(R * K, 4).map((v) => v * 0.02);
    const H0 = H.slice();
    const { Q, timings } = await gptq(be, W, H, R, K, {
      wbits: 4,
      groupsize: -1,
      sym: false,
      actOrder: false,
      staticGroups: false,
      trueSequential: false,
      percdamp: 0.01,
      blocksize: 128,
    });
    gpu.release(Q);
    // the lazy update alone, for its GFLOP/s: one block's errors against the rest of the columns
    const U = gpu.upload(randn(K * K, 5), [K, K]);
    const Err = gpu.upload(randn(R * 128, 6), [R, 128]);
    const Wg = gpu.upload(W, [R, K]);
    ops.gptqUpdate(gpu, U, Err, Wg, 0, 128);
    await gpu.sync();
    const tU = performance.now();
    for (let i = 0; i < ITERS; i++) ops.gptqUpdate(gpu, U, Err, Wg, 0, 128);
    await gpu.sync();
    const uGflops = (2 * R * 128 * (K - 128) * ITERS) / ((performance.now() - tU) * 1e6);
    for (const t of [U, Err, Wg]) gpu.release(t);
    const hessian128 = (hMs / windows) * 128;
    console.log(
      `| ${name} [${R} × ${K}] | ${(hessian128 / 1000).toFixed(1)} | ${(timings.factorMs / 1000).toFixed(2)} | ${(timings.loopMs / 1000).toFixed(2)} | ${hGflops.toFixed(2)} | ${uGflops.toFixed(2)} |`,
    );
    results.gptq ??= [] as unknown[];
    (results.gptq as unknown[]).push({
      layer: name,
      R,
      K,
      windowsMeasured: windows,
      hessianSecondsFor128x512: hessian128 / 1000,
      factorSeconds: timings.factorMs / 1000,
      loopSeconds: timings.loopMs / 1000,
      hessianGflops: hGflops,
      updateGflops: uGflops,
    });
    if (!process.argv.includes('--skip_claq')) {
      const { claq } = await import('../src/quant/claq.ts');
      const { completeStep } = await import('../src/quant/recipe.ts');
      const o = completeStep({ method: 'claq', wbits: 4, actOrder: false }) as never;
      const withKmeans = await claq(be, W, H0.slice(), R, K, o, 0, true);
      const without = await claq(be, W, H0.slice(), R, K, o, 0, false);
      gpu.release(withKmeans.Q);
      gpu.release(without.Q);
      const kmeansMs = withKmeans.loopMs - without.loopMs;
      claqRows.push(
        `| ${name} [${R} × ${K}] | ${(hessian128 / 1000).toFixed(1)} | ${(withKmeans.factorMs / 1000).toFixed(2)} | ${(without.loopMs / 1000).toFixed(2)} | ${(kmeansMs / 1000).toFixed(2)} | ${(withKmeans.loopMs / 1000).toFixed(2)} | ${(withKmeans.loopMs / timings.loopMs).toFixed(1)}× |`,
      );
      results.claq ??= [] as unknown[];
      (results.claq as unknown[]).push({
        layer: name,
        R,
        K,
        factorSeconds: withKmeans.factorMs / 1000,
        loopWithoutKmeansSeconds: without.loopMs / 1000,
        kmeansSeconds: kmeansMs / 1000,
        loopSeconds: withKmeans.loopMs / 1000,
        gptqLoopSeconds: timings.loopMs / 1000,
        lloydStepsMean: withKmeans.detail.lloydSteps.reduce((a, b) => a + b, 0) / K,
      });
    }
  }
  if (claqRows.length) {
    console.log(
      '\nCLAQ per layer (W4: 16-centroid k-means per column, one workgroup per block; no act-order, as GPTQ above), same Hessian',
    );
    console.log(
      "| layer [out × in] | Hessian s (128×512) | factorization s | column loop without k-means s | k-means s | column loop s | loop vs GPTQ's |",
    );
    console.log('|---|---|---|---|---|---|---|');
    for (const row of claqRows) console.log(row);
  }
}

// ---- RPTQ statistics: range collection and k-means ----------------------------------------------------------------
{
  const { backendSteps, referenceSteps, kmeans } = await import('../src/quant/kmeans.ts');
  console.log(
    '\nRPTQ statistics: per-channel range collection (512-token windows) and k-means (32 clusters, 10 restarts)',
  );
  console.log('| channels | range tokens/s | k-means GPU s | k-means CPU reference s | ratio |');
  console.log('|---|---|---|---|---|');
  for (const C of [768, 3072]) {
    const X = gpu.upload(randn(512 * C, 7), [512, C]);
    const range = gpu.upload(
      Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -Infinity : Infinity)),
      [C, 2],
    );
    ops.channelRange(gpu, X, range);
    await gpu.sync();
    const t0 = performance.now();
    for (let i = 0; i < ITERS; i++) ops.channelRange(gpu, X, range);
    await gpu.sync();
    const tokensPerSecond = (512 * ITERS) / ((performance.now() - t0) / 1000);
    const r = await gpu.read(range);
    const points = new Float32Array(C * 4);
    for (let c = 0; c < C; c++)
      ((points[c * 4] = r[c * 2 + 1] * (1 + (c % 7) / 7)), (points[c * 4 + 1] = r[c * 2] * (1 + (c % 5) / 5)));
    const o = { k: 32, restarts: 10, maxIter: 300, seed: 0 };
    let t = performance.now();
    await kmeans(backendSteps(gpuBackend(gpu)), points, o);
    const gpuS = (performance.now() - t) / 1000;
    t = performance.now();
    await kmeans(referenceSteps, points, o);
    const cpuS = (performance.now() - t) / 1000;
    gpu.release(X);
    gpu.release(range);
    console.log(
      `| ${C} | ${tokensPerSecond.toFixed(0)} | ${gpuS.toFixed(2)} | ${cpuS.toFixed(2)} | ${(cpuS / gpuS).toFixed(2)}× |`,
    );
    results.rptq ??= [] as unknown[];
    (results.rptq as unknown[]).push({
      channels: C,
      rangeTokensPerSecond: tokensPerSecond,
      kmeansGpuSeconds: gpuS,
      kmeansReferenceSeconds: cpuS,
    });
  }
}

// ---- DuQuant: rotation construction and the online transform ------------------------------------------------------
{
  const { greedyRotation, greedyRotationOn, randomOrthogonal, rotationBlock, zigzag } =
    await import('../src/quant/rotation.ts');
  const { SeededRandom } = await import('../src/quant/random.ts');
  const be = gpuBackend(gpu);
  const steps = Number(arg('duquant_steps', gpu.info.software ? '16' : '256'));
  console.log(
    `\nDuQuant: greedy rotation (block 128, ${steps} steps, one matrix shared by the blocks) on a 512-token activation with outlier channels; online transform x·R₁, [:, perm]·R₂, per-token 4-bit`,
  );
  console.log(
    '| width (model) | rotation GPU ms | rotation host ms | host / GPU | transform ms | consumers matmul ms | transform / matmul |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const [C, out, what] of [
    [768, 3 * 768, 'OPT-125m attention input → q, k, v'],
    [3072, 768, 'OPT-125m fc2 input'],
    [2048, 2048 + 2 * 256, 'TinyLlama attention input → q, k, v'],
    [5632, 2048, 'TinyLlama down_proj input'],
  ] as const) {
    const n = rotationBlock(C, 128);
    const x = randn(512 * C, 8);
    for (let c = 0; c < C; c += 97) for (let t = 0; t < 512; t++) x[t * C + c] *= 20; // outlier channels
    const X = gpu.upload(x, [512, C]);
    let t = performance.now();
    const g = await greedyRotationOn(be, X, n, steps, new SeededRandom(1));
    const gpuMs = performance.now() - t;
    // the host search's cost is rows·n² per step: measured up to 2·10⁹ multiply-adds, else left out
    const hostWork = ((512 * C) / n) * n * n * steps;
    let hostMs: number | null = null;
    if (hostWork <= 2e9) {
      t = performance.now();
      greedyRotation(Float64Array.from(x), n, steps, new SeededRandom(1));
      hostMs = performance.now() - t;
    }
    const rng = new SeededRandom(2);
    const R1 = gpu.upload(Float32Array.from(g.R), [1, n, n]);
    const R2 = gpu.upload(Float32Array.from(randomOrthogonal(n, rng)), [1, n, n]);
    const perm = gpu.upload(
      zigzag(
        Array.from({ length: C }, (_, c) => Math.abs(x[c])),
        n,
      ),
      [C],
      'ids',
    );
    const W = gpu.upload(randn(out * C, 9), [out, C]);
    const transformMs = await timeIt(
      () => {
        const y1 = ops.blockRotate(gpu, X, R1, n);
        const y2 = ops.blockRotate(gpu, y1, R2, n, perm);
        ops.tokenQuant(gpu, y2, C, 15, 0.9);
        gpu.release(y1);
        gpu.release(y2);
      },
      () => gpu.sync(),
    );
    const matmulMs = await timeIt(
      () => gpu.release(ops.matmul(gpu, X, W, null)),
      () => gpu.sync(),
    );
    for (const tt of [X, R1, R2, perm, W]) gpu.release(tt);
    console.log(
      `| ${C} (${what}) | ${gpuMs.toFixed(0)} | ${hostMs === null ? '—' : hostMs.toFixed(0)} | ${hostMs === null ? '—' : (hostMs / gpuMs).toFixed(2) + '×'} | ${transformMs.toFixed(2)} | ${matmulMs.toFixed(2)} | ${(transformMs / matmulMs).toFixed(2)} |`,
    );
    results.duquant ??= [] as unknown[];
    (results.duquant as unknown[]).push({
      width: C,
      consumers: out,
      what,
      steps,
      keptSteps: g.steps,
      rotationGpuMs: gpuMs,
      rotationHostMs: hostMs,
      transformMs,
      consumerMatmulMs: matmulMs,
    });
  }
}

// ---- zero-shot scoring: packed WebGPU against WebGPU unshared and the plain CPU reference ---------------------------
if (!process.argv.includes('--skip_zeroshot')) {
  // 0: the whole split of every task (lm-eval's full protocol; hours on a software adapter)
  const limit = Number(arg('zeroshot_limit', '200')) || undefined;
  console.log(
    `\nzero-shot scoring, ${limit ? `first ${limit} items` : 'every item'} per task: (a) WebGPU packed, shared contexts, batch 8; (b) WebGPU, one forward per choice; (c) CPU reference, one sequence per request`,
  );
  console.log(
    '| model | task | items | (a) items/s | (b) items/s | (c) items/s | a / b | a / c | max \\|Δll\\| a vs c | acc, acc_norm equal (a, c) | acc (a) | acc_norm (a) |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const name of ['opt-tiny-bpe', 'stories260K']) {
    const m = await loadModel(folderSource(`${MODELS}${name}`));
    const make = <T>(be: Backend<T>) => new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
    const [g, r] = [make(gpuBackend(gpu)), make(referenceBackend())];
    for (const task of ZERO_SHOT_TASKS) {
      const { items } = await loadTask(task, folderReader(), limit);
      const score = async <T>(dec: Decoder<T>, o: PackingOptions) => {
        await scoreItems(dec, m.tokenizer, task, items.slice(0, 1), o); // warm-up: pipeline compilation
        const t0 = performance.now();
        const res = await scoreItems(dec, m.tokenizer, task, items, o);
        const seconds = (performance.now() - t0) / 1000;
        return { res, perSecond: items.length / seconds, s: aggregate(task, items, res, seconds) };
      };
      const a = await score(g, { batch: 8 });
      const b = await score(g, { share: false });
      const c = await score(r, { share: false, batch: 1 });
      const maxDll = Math.max(...a.res.flatMap((it, i) => it.map((x, k) => Math.abs(x.ll - c.res[i][k].ll))));
      const greedyEqual = a.res.every((it, i) => it.every((x, k) => x.greedy === c.res[i][k].greedy));
      const equal = a.s.acc === c.s.acc && a.s.accNorm === c.s.accNorm && (task !== 'lambada_openai' || greedyEqual);
      const f = (x?: number) => (x === undefined ? '—' : x.toFixed(4));
      console.log(
        `| ${name} | ${task} | ${items.length} | ${a.perSecond.toFixed(1)} | ${b.perSecond.toFixed(1)} | ${c.perSecond.toFixed(1)} | ${(a.perSecond / b.perSecond).toFixed(2)}× | ${(a.perSecond / c.perSecond).toFixed(2)}× | ${maxDll.toExponential(1)} | ${equal ? 'yes' : 'NO'} | ${f(a.s.acc)} | ${f(a.s.accNorm)} |`,
      );
      results.zeroshot ??= [] as unknown[];
      (results.zeroshot as unknown[]).push({
        model: name,
        task,
        items: items.length,
        packedItemsPerSecond: a.perSecond,
        unsharedItemsPerSecond: b.perSecond,
        referenceItemsPerSecond: c.perSecond,
        packedOverUnshared: a.perSecond / b.perSecond,
        packedOverReference: a.perSecond / c.perSecond,
        maxAbsLlDiff: maxDll,
        accEqual: a.s.acc === c.s.acc,
        accNormEqual: a.s.accNorm === c.s.accNorm,
        ...(task === 'lambada_openai' && { greedyEqual }),
        acc: a.s.acc,
        accNorm: a.s.accNorm,
        perplexity: a.s.perplexity,
        referenceAcc: c.s.acc,
        referenceAccNorm: c.s.accNorm,
      });
    }
  }
}

if (!process.argv.includes('--skip_widths')) await realWidths(gpu, results);
if (!process.argv.includes('--skip_export')) await exportImport(gpu, results);
if (!process.argv.includes('--skip_training')) await training(gpu, results);
if (!process.argv.includes('--skip_generation')) await generation(gpu, results);

const json = arg('json');
if (json) writeFileSync(json, JSON.stringify(results, null, 2));
process.exit(0);
