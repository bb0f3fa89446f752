// RPTQ's static cluster-wise activation quantizer: the actQuant kernel against its twin on real activations
// (opt-tiny's fc2 inputs, 32 clusters), and the parameters of one cluster as methods.md defines them.
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/ops.ts';
import * as ref from '../../src/gpu/reference.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { clusterParams } from '../../src/quant/activationQuant.ts';
import { MODELS, loadFixture, relErr, sharedGpu } from '../helpers.ts';

describe('cluster-wise activation quantization (actQuant)', () => {
  it('the kernel matches its twin on real fc2 inputs with 32 clusters', async () => {
    const gpu = await sharedGpu();
    const m = await loadFixture(MODELS.optTiny);
    const be = referenceBackend();
    const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
    const ids = m.tokenizer.encode((await evalText('tinystories', folderReader(), 128)).text).slice(0, 128);
    let x: ref.CpuTensor | null = null;
    await dec.windowNll(ids, {
      taps: (layer, point, t) =>
        void (layer === 1 && point === 'down.in' && (x = ref.cpu(t.data.slice(), [...t.shape]))),
    });
    const X = x!;
    const C = X.shape[1];
    const ranges = ref.cpu(
      new Float32Array(C * 2).map((_, i) => (i % 2 ? -Infinity : Infinity)),
      [C, 2],
    );
    ref.channelRange(X, ranges);
    const cluster = Uint32Array.from({ length: C }, (_, c) => (c * 7) % 32);
    const params = clusterParams(ranges.data, cluster, 32, 4);
    const g = gpu.upload(X.data, X.shape);
    ops.actQuant(gpu, g, { cluster: gpu.upload(cluster, [C]), params: gpu.upload(params, [32, 2]), maxq: 15 });
    const r = ref.cpu(X.data.slice(), X.shape);
    ref.actQuant(r, { cluster, params: ref.cpu(params, [32, 2]), maxq: 15 });
    expect(relErr(await gpu.read(g), r.data)).toBeLessThan(1e-6);
    // values inside a cluster's range land on one of its 16 levels, the extremes exactly
    expect(new Set(Array.from(r.data.filter((_, i) => cluster[i % C] === 0))).size).toBeLessThanOrEqual(16);
  });

  it('one (scale, zero) per cluster from its min of mins and max of maxes, 2^b − 1 levels', () => {
    const ranges = Float32Array.from([-1, 2, -3, 1, 0, 0.5, -0.25, 0.25]); // 4 channels (min, max)
    const p = clusterParams(ranges, Uint32Array.from([0, 0, 1, 1]), 2, 3);
    expect(p[0]).toBeCloseTo(5 / 7, 6); // cluster 0 spans [−3, 2]
    expect(p[1]).toBe(Math.round(3 / (5 / 7)));
    expect(p[2]).toBeCloseTo(0.75 / 7, 6); // cluster 1 spans [−0.25, 0.5]
  });
});
