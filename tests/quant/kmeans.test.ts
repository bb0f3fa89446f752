// RPTQ groundwork: range collection and k-means on the GPU against their CPU twins, on real activations
// (opt-tiny's attention-norm outputs, R1, over two windows of tinystories).
import { beforeAll, describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/ops.ts';
import * as ref from '../../src/gpu/reference.ts';
import type { Gpu } from '../../src/gpu/gpu.ts';
import { gpuBackend, referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { backendSteps, kmeans, referenceSteps, reorderIndex } from '../../src/quant/kmeans.ts';
import { MODELS, loadFixture, sharedGpu } from '../helpers.ts';

let gpu: Gpu;
const windows: ref.CpuTensor[] = []; // layer-1 attn_norm outputs [T, 128]
const qk: Record<string, ref.CpuTensor[]> = { 'q.out': [], 'k.out': [] }; // layer-1 q and k [T, 4 heads × 32]

beforeAll(async () => {
  gpu = await sharedGpu();
  const m = await loadFixture(MODELS.optTiny);
  const be = referenceBackend();
  const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
  const ids = m.tokenizer.encode((await evalText('tinystories', folderReader(), 256)).text);
  for (const w of [ids.slice(0, 256), ids.slice(256, 512)]) {
    await dec.windowNll(w, {
      taps: (layer, point, x) => {
        if (layer === 1 && point === 'attn_norm') windows.push(ref.cpu(x.data.slice(), [...x.shape]));
        if (layer === 1 && point in qk) qk[point].push(ref.cpu(x.data.slice(), [...x.shape]));
      },
    });
  }
});

function collectRanges(): { gpuRange: Promise<Float32Array>; refRange: Float32Array } {
  const C = 128;
  const init = Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 === 0 ? Infinity : -Infinity));
  const g = gpu.upload(init.slice(), [C, 2]);
  const r = ref.cpu(init.slice(), [C, 2]);
  for (const x of windows) {
    ops.channelRange(gpu, gpu.upload(x.data, x.shape), g);
    ref.channelRange(x, r);
  }
  return { gpuRange: gpu.read(g), refRange: r.data };
}

describe('RPTQ statistics and clustering', () => {
  it('channelRange: per-channel min/max over all tokens of two windows, reduced on the GPU', async () => {
    const { gpuRange, refRange } = collectRanges();
    expect(Array.from(await gpuRange)).toEqual(Array.from(refRange));
  });

  it('k-means on the GPU = the reference: same seed → same labels and inertia (128 channels → 32 clusters)', async () => {
    const { refRange } = collectRanges();
    // each channel is the point [max, min]
    const points = new Float32Array(128 * 4);
    for (let c = 0; c < 128; c++) ((points[c * 4] = refRange[c * 2 + 1]), (points[c * 4 + 1] = refRange[c * 2]));
    const o = { k: 32, restarts: 4, maxIter: 100, seed: 0 };
    const g = await kmeans(backendSteps(gpuBackend(gpu)), points, o);
    const r = await kmeans(referenceSteps, points, o);
    expect(Array.from(g.labels)).toEqual(Array.from(r.labels));
    expect(Math.abs(g.inertia / r.inertia - 1)).toBeLessThan(1e-5);
    expect(new Set(g.labels).size).toBe(32);
    // the reorder index lays clusters out contiguously
    const idx = reorderIndex(g.labels);
    for (let i = 1; i < idx.length; i++) expect(g.labels[idx[i]]).toBeGreaterThanOrEqual(g.labels[idx[i - 1]]);
  });

  it('clustering lowers the within-cluster spread against contiguous channel groups of the same count', async () => {
    const { refRange } = collectRanges();
    const points = new Float32Array(128 * 4);
    for (let c = 0; c < 128; c++) ((points[c * 4] = refRange[c * 2 + 1]), (points[c * 4 + 1] = refRange[c * 2]));
    const r = await kmeans(referenceSteps, points, { k: 8, restarts: 3, maxIter: 100, seed: 0 });
    // each group's quantization range: max of maxes − min of mins, summed over groups
    const spread = (label: (c: number) => number) => {
      const lo = new Array(8).fill(Infinity);
      const hi = new Array(8).fill(-Infinity);
      for (let c = 0; c < 128; c++)
        ((lo[label(c)] = Math.min(lo[label(c)], refRange[c * 2])),
          (hi[label(c)] = Math.max(hi[label(c)], refRange[c * 2 + 1])));
      return hi.reduce((s, h, j) => s + (h - lo[j]), 0);
    };
    expect(spread((c) => r.labels[c])).toBeLessThan(spread((c) => Math.floor(c / 16)));
  });

  it('per-head k-means in one batch (R2: [q_max, k_max, q_min, k_min] inside each of 4 heads) on the GPU = the reference', async () => {
    const range = (xs: ref.CpuTensor[]) => {
      const r = ref.cpu(
        Float32Array.from({ length: 256 }, (_, i) => (i % 2 === 0 ? Infinity : -Infinity)),
        [128, 2],
      );
      for (const x of xs) ref.channelRange(x, r);
      return r.data;
    };
    const q = range(qk['q.out']);
    const k = range(qk['k.out']);
    const points = new Float32Array(128 * 4);
    for (let c = 0; c < 128; c++) points.set([q[c * 2 + 1], k[c * 2 + 1], q[c * 2], k[c * 2]], c * 4);
    const o = { k: 4, restarts: 10, maxIter: 300, seed: 0, heads: 4 };
    const g = await kmeans(backendSteps(gpuBackend(gpu)), points, o);
    const r = await kmeans(referenceSteps, points, o);
    expect(Array.from(g.labels)).toEqual(Array.from(r.labels));
    expect(Math.abs(g.inertia / r.inertia - 1)).toBeLessThan(1e-5);
    // labels are per head (0..3) and every head uses all four clusters
    for (let h = 0; h < 4; h++) expect(new Set(g.labels.slice(h * 32, h * 32 + 32)).size, `head ${h}`).toBe(4);
  });
});
