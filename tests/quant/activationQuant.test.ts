// RPTQ groundwork on real activations: at every reorder point of every block, 4-bit static activation quantization
// with k-means channel clusters has lower error than contiguous channel groups of the same count (no reorder) and
// than one per-tensor range. Ranges come from the channelRange kernel through the hook points; calibration is
// 4 × 256 tinystories tokens (first 90% of the stories).
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/ops.ts';
import * as ref from '../../src/gpu/reference.ts';
import { gpuBackend } from '../../src/gpu/backend.ts';
import type { GpuTensor } from '../../src/gpu/tensor.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { calibrationText, sampleWindows } from '../../src/eval/calibration.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { collectBlockRanges, reorderTaps, type ReorderPoint } from '../../src/pipeline/activationStats.ts';
import { clusterParams, rangePoints } from '../../src/quant/activationQuant.ts';
import { kmeans, referenceSteps } from '../../src/quant/kmeans.ts';
import { MODELS, loadFixture, relErr, sharedGpu } from '../helpers.ts';

const BITS = 4;

/** relative squared error of fake-quantizing x [T, C] with a channel → cluster map */
function quantError(x: Float32Array, C: number, ranges: Float32Array, cluster: Uint32Array, clusters: number): number {
  const q = ref.cpu(x.slice(), [x.length / C, C]);
  ref.actQuant(cluster, ref.cpu(clusterParams(ranges, cluster, clusters, BITS), [clusters, 2]), q, 2 ** BITS - 1);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) (num += (q.data[i] - x[i]) ** 2), (den += x[i] ** 2);
  return num / den;
}

async function clusterChannels(ranges: Float32Array, k: number, heads: number): Promise<Uint32Array> {
  // R2/R3 cluster inside each head (k per head); the others globally
  const C = ranges.length / 2;
  const per = C / heads;
  const out = new Uint32Array(C);
  for (let h = 0; h < heads; h++) {
    const sub = ranges.slice(h * per * 2, (h + 1) * per * 2);
    const pts = rangePoints(sub);
    const r = await kmeans(referenceSteps(pts), pts, { k, restarts: 4, maxIter: 100, seed: 0 });
    r.labels.forEach((l, c) => (out[h * per + c] = h * k + l));
  }
  return out;
}

describe('cluster-wise activation quantization (RPTQ statistics)', () => {
  it('actQuant matches its twin on real fc2 inputs with 32 clusters', async () => {
    const gpu = await sharedGpu();
    const x = ref.cpu(Float32Array.from({ length: 64 * 512 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 512) / 64)), [64, 512]);
    const ranges = new Float32Array(512 * 2).map((_, i) => (i % 2 ? -Infinity : Infinity));
    ref.channelRange(x, ref.cpu(ranges, [512, 2]));
    const cluster = Uint32Array.from({ length: 512 }, (_, c) => c % 32);
    const params = clusterParams(ranges, cluster, 32, 4);
    const g = gpu.upload(x.data, x.shape);
    ops.actQuant(gpu, gpu.upload(cluster, [512]), gpu.upload(params, [32, 2]), g, 15);
    const r = ref.cpu(x.data.slice(), x.shape);
    ref.actQuant(cluster, ref.cpu(params, [32, 2]), r, 15);
    expect(relErr(await gpu.read(g), r.data)).toBeLessThan(1e-6);
  });

  it.each([
    ['opt-tiny', MODELS.optTiny],
    ['stories260K', MODELS.stories260K],
  ] as const)('%s: k-means clusters beat contiguous groups and per-tensor at every reorder point of every block', async (_, path) => {
    const gpu = await sharedGpu();
    const m = await loadFixture(path);
    const cfg = m.config;
    const be = gpuBackend(gpu);
    const weights = new WeightStore(be, cfg, m.checkpoint);
    const dec = new Decoder(be, cfg, weights);
    const calib = sampleWindows(m.tokenizer.encode(await calibrationText('tinystories', folderReader())), 4, 256, 0);
    let inputs: GpuTensor[] = [];
    for (const w of calib) inputs.push(await dec.embed(w));
    const names = reorderTaps(cfg.family);
    const rows: string[] = [];
    for (let layer = 0; layer < cfg.layers; layer++) {
      const block = await weights.block(layer);
      const ranges = await collectBlockRanges(gpu, dec, layer, block, inputs);
      // activations of the same windows, read back per point
      const acts = new Map<ReorderPoint, Float32Array[]>();
      for (const x of inputs) {
        await dec.block(layer, x, block, async (__, point, t) => {
          const name = names[point];
          if (name) acts.set(name, [...(acts.get(name) ?? []), await gpu.read(t)]);
        });
      }
      for (const [point, xs] of acts) {
        const r = ranges[point];
        const C = r.length / 2;
        const headed = point === 'R2q' || point === 'R2k' || point === 'R3';
        const heads = headed ? C / cfg.headDim : 1;
        const k = headed ? 4 : Math.min(32, C / 4);
        const clustered = await clusterChannels(r, k, heads);
        const contiguous = Uint32Array.from({ length: C }, (__, c) => Math.floor(c / (C / (k * heads))));
        const x = new Float32Array(xs.reduce((n, a) => n + a.length, 0));
        let off = 0;
        for (const a of xs) x.set(a, (off += a.length) - a.length);
        const e = {
          clustered: quantError(x, C, r, clustered, k * heads),
          contiguous: quantError(x, C, r, contiguous, k * heads),
          perTensor: quantError(x, C, r, new Uint32Array(C), 1),
        };
        rows.push(`${layer} ${point} k=${k * heads}: ${e.clustered.toExponential(2)} < ${e.contiguous.toExponential(2)} (contiguous), ${e.perTensor.toExponential(2)} (per-tensor)`);
        expect(e.clustered, `${layer} ${point}`).toBeLessThan(e.contiguous);
        expect(e.clustered, `${layer} ${point}`).toBeLessThan(e.perTensor);
      }
    }
    console.log(`${_}, A${BITS}:\n${rows.join('\n')}`);
    for (const x of inputs) be.release(x);
    inputs = [];
  });
});
