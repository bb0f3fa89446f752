// Per-channel activation ranges at RPTQ's five reorder points of one block, over every calibration token, collected
// through the forward pass's hook points with the channelRange kernel:
//   R1 attention-norm output, R2 q_proj and k_proj outputs, R3 out_proj input, R4 FFN-norm output, R5 fc2/down input.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { linearName } from '../model/architecture.ts';
import type { Decoder } from '../model/forward.ts';
import type { BlockWeights } from '../model/weights.ts';

export type ReorderPoint = 'R1' | 'R2q' | 'R2k' | 'R3' | 'R4' | 'R5';

export function reorderTaps(family: 'opt' | 'llama'): Record<string, ReorderPoint> {
  return {
    attn_norm: 'R1',
    [`${linearName(family, 'q')}.out`]: 'R2q',
    [`${linearName(family, 'k')}.out`]: 'R2k',
    [`${linearName(family, 'o')}.in`]: 'R3',
    ffn_norm: 'R4',
    [`${linearName(family, 'down')}.in`]: 'R5',
  };
}

/** Runs block `layer` on each input (inputs are left unchanged) and returns (min, max) per channel per point. */
export async function collectBlockRanges(
  gpu: Gpu,
  decoder: Decoder<GpuTensor>,
  layer: number,
  block: BlockWeights<GpuTensor>,
  inputs: GpuTensor[],
): Promise<Record<ReorderPoint, Float32Array>> {
  const points = reorderTaps(decoder.cfg.family);
  const ranges = new Map<ReorderPoint, GpuTensor>();
  for (const x of inputs) {
    const h = decoder.be.rows(x, 0, x.shape[0]);
    await decoder.block(layer, h, block, (_, point, t) => {
      const name = points[point];
      if (!name) return;
      let r = ranges.get(name);
      if (!r) {
        const C = t.shape[t.shape.length - 1];
        r = gpu.upload(Float32Array.from({ length: C * 2 }, (_, i) => (i % 2 ? -Infinity : Infinity)), [C, 2], `range.${name}`);
        ranges.set(name, r);
      }
      ops.channelRange(gpu, t, r);
    });
    decoder.be.release(h);
  }
  const out = {} as Record<ReorderPoint, Float32Array>;
  for (const [name, r] of ranges) {
    out[name] = await gpu.read(r);
    gpu.release(r);
  }
  return out;
}
