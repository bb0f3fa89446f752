// RTN: the uniform quantizer applied to each weight row (or group) directly — GPTQ's --nearest.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';

/** Ŵ [R, K] for W [R, K] on the GPU. */
export function rtn(gpu: Gpu, W: GpuTensor, wbits: number, groupsize: number, sym: boolean): GpuTensor {
  const [R, K] = W.shape;
  const g = groupsize > 0 ? groupsize : K;
  const grid = { maxq: 2 ** wbits - 1, sym, groupsize: g };
  const groups = Math.ceil(K / g);
  const params = gpu.tensor([R, groups, 2], 'f32', 'rtn.params');
  ops.quantParams(gpu, W, params, grid, 0, groups);
  const colGroup = gpu.upload(Uint32Array.from({ length: K }, (_, c) => Math.floor(c / g)), [K], 'rtn.colGroup');
  const Q = ops.fakeQuant(gpu, W, params, colGroup, grid);
  gpu.release(params);
  gpu.release(colGroup);
  return Q;
}
