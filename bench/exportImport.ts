// Export and import (issue 15), a section of `npm run bench` (also alone: `npx tsx bench/exportImport.ts [flags]`):
//  a. a GPTQ layer dequantized on the GPU (gptqDequant.wgsl) against its host twin, at OPT-1.3B's fc1 and fc2 shapes,
//     4 bits, groups of 128 in act-order: seconds, output GB/s, and whether the two are bit-identical;
//  b. a synthetic OPT-125m-shaped checkpoint (npm run synth; --export_layers N blocks, default 2) quantized with RTN W4
//     g128, exported in each format: seconds and MB/s written, the GPTQ checkpoint's size against the F16 original's,
//     and loading it back (validate + dequantize every block) against loading the original.
import '../src/gpu/node.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gpu } from '../src/gpu/gpu.ts';
import { arg, runAlone } from './section.ts';
import { gpuBackend } from '../src/gpu/backend.ts';
import { fromHalfBits, toHalfBits } from '../src/gpu/half.ts';
import { dequantizeGptq, packQweight, packQzeros } from '../src/model/gptqPacking.ts';
import { synthesize } from '../src/cli/synth.ts';
import { folderSource } from '../src/model/source.node.ts';
import { folderSink } from '../src/model/sink.node.ts';
import { folderReader } from '../src/eval/datasets.node.ts';
import { runExperiment } from '../src/pipeline/experiment.ts';
import { exportRun, SAVE_FORMATS } from '../src/pipeline/export.ts';
import { memoryCache } from '../src/pipeline/cache.ts';
import { makeRecipe } from '../src/quant/recipe.ts';
import { loadModel } from '../src/model/load.ts';
import { WeightStore } from '../src/model/weights.ts';

const MB = (b: number) => b / 1e6;

/** A random packed layer [N, K] at 4 bits, groups of 128, g_idx shuffled as act-order leaves it. */
function packedLayer(N: number, K: number) {
  let s = 1;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const G = K / 128;
  const codes = Uint8Array.from({ length: N * K }, () => Math.floor(rnd() * 16));
  const zeros = Uint16Array.from({ length: G * N }, () => 1 + Math.floor(rnd() * 15));
  const scales = toHalfBits(
    Float32Array.from({ length: G * N }, () => 0.001 + rnd() / 100),
    'f16',
  );
  const order = Uint32Array.from({ length: K }, (_, k) => k).sort(() => rnd() - 0.5);
  const gIdx = new Uint32Array(K);
  order.forEach((k, i) => (gIdx[k] = Math.floor(i / 128)));
  return { qweight: packQweight(codes, N, K, 4), qzeros: packQzeros(zeros, G, N, 4), scales, gIdx, G };
}

export async function exportImport(gpu: Gpu, results: Record<string, unknown>): Promise<void> {
  const be = gpuBackend(gpu);
  console.log('\nGPTQ layer dequantization (4 bits, g128, act-order g_idx): gptqDequant.wgsl vs its host twin');
  console.log('| layer [out × in] | GPU s | host s | host / GPU | GPU output GB/s | bit-identical |');
  console.log('|---|---|---|---|---|---|');
  const dq: unknown[] = [];
  for (const [name, N, K] of [
    ['fc1 [8192 × 2048]', 8192, 2048],
    ['fc2 [2048 × 8192]', 2048, 8192],
  ] as const) {
    const l = packedLayer(N, K);
    const up = () => ({
      qweight: be.ids(l.qweight),
      qzeros: be.ids(l.qzeros),
      scales: be.fromHost16(l.scales, 'f16', [l.G, N]),
      gIdx: be.ids(l.gIdx),
    });
    const warm = up();
    be.release(be.checkpoint.gptqDequant(warm.qweight, warm.qzeros, warm.scales, warm.gIdx, 4, N, K, l.G));
    Object.values(warm).forEach((t) => be.release(t));
    await gpu.sync();
    const t = up();
    let t0 = performance.now();
    const W = be.checkpoint.gptqDequant(t.qweight, t.qzeros, t.scales, t.gIdx, 4, N, K, l.G);
    await gpu.sync();
    const gpuS = (performance.now() - t0) / 1000;
    const got = await gpu.read(W);
    be.release(W);
    Object.values(t).forEach((x) => be.release(x));
    t0 = performance.now();
    const ref = dequantizeGptq({ ...l, scales: fromHalfBits(l.scales, 'f16') }, N, K, 4);
    const hostS = (performance.now() - t0) / 1000;
    const same = got.every((v, i) => Object.is(v, ref[i]));
    console.log(
      `| ${name} | ${gpuS.toFixed(3)} | ${hostS.toFixed(3)} | ${(hostS / gpuS).toFixed(2)}× | ${((N * K * 4) / gpuS / 1e9).toFixed(2)} | ${same ? 'yes' : 'NO'} |`,
    );
    dq.push({ layer: name, N, K, gpuSeconds: gpuS, hostSeconds: hostS, identical: same });
  }
  results.gptqDequant = dq;

  const layers = Number(arg('export_layers', '2'));
  const dir = mkdtempSync(join(tmpdir(), 'quantlab-bench-export-'));
  try {
    const model = join(dir, 'model');
    synthesize('opt-125m', model, { layers });
    const source = folderSource(model);
    const cache = memoryCache();
    const run = await runExperiment(
      {
        datasets: ['tinystories'],
        seqlen: 128,
        windows: 1,
        skipBefore: true,
        recipe: makeRecipe({
          calib: 'tinystories',
          nsamples: 2,
          seqlen: 128,
          scales16: true,
          steps: [{ method: 'rtn', wbits: 4, groupsize: 128 }],
        }),
      },
      { source, readText: folderReader(), gpu, cache },
    );
    const original = (await loadModel(source)).checkpoint.bytes;
    console.log(
      `\nExport of a synthetic OPT-125m-shaped checkpoint (${layers} blocks, F16 ${MB(original).toFixed(1)} MB), RTN W4 g128 with f16 scales`,
    );
    console.log('| format | seconds | MB written | MB/s | model file / F16 original |');
    console.log('|---|---|---|---|---|');
    const ex: unknown[] = [];
    for (const format of SAVE_FORMATS) {
      const out = join(dir, format);
      const t0 = performance.now();
      const rep = await exportRun(format, run, { source, cache, sink: await folderSink(out) });
      const s = (performance.now() - t0) / 1000;
      const bytes = rep.files.reduce((a, f) => a + f.bytes, 0);
      const file = rep.files.find((f) => f.name.endsWith('.safetensors'))!.bytes;
      console.log(
        `| ${format} | ${s.toFixed(2)} | ${MB(bytes).toFixed(1)} | ${(MB(bytes) / s).toFixed(1)} | ${(file / original).toFixed(3)} |`,
      );
      ex.push({ format, seconds: s, bytes, modelFileOverOriginal: file / original });
    }
    // loading: validate, then every block and the globals on the GPU (the GPTQ one dequantizes each block there)
    const load = async (src: string) => {
      const t0 = performance.now();
      const m = await loadModel(folderSource(src));
      const w = new WeightStore(be, m.config, m.checkpoint);
      w.validate();
      await w.global();
      for (let i = 0; i < m.config.layers; i++) await w.block(i);
      await gpu.sync();
      const s = (performance.now() - t0) / 1000;
      w.dispose();
      return s;
    };
    const [plain, packed] = [await load(model), await load(join(dir, 'gptq'))];
    console.log(
      `loading every block onto the GPU: the F16 original ${plain.toFixed(2)} s, the GPTQ checkpoint (dequantized per block) ${packed.toFixed(2)} s (${(packed / plain).toFixed(2)}×)`,
    );
    results.export = { layers, formats: ex, loadOriginalSeconds: plain, loadGptqSeconds: packed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await runAlone('exportImport.ts', exportImport);
