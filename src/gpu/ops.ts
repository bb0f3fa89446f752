// The GPU ops by name, for code that dispatches one kernel directly (tests, benchmarks): the kernel table's GPU side
// lives in kernels.ts, one op per kernel, each taking its twin's arguments (reference.ts) with gpu first.
import type { Gpu } from './gpu.ts';
import type { GpuTensor } from './tensor.ts';

export * from './kernels.ts';

/** Per-row (Σ (yq − y)², Σ y²) of two [T, N] outputs: [T, 2]. */
export function outputError(gpu: Gpu, yq: GpuTensor, y: GpuTensor): GpuTensor {
  const C = y.shape[y.shape.length - 1];
  const [T, N] = [y.size / C, C];
  const err = gpu.tensor([T, 2], 'f32', 'outputError');
  gpu.dispatch(gpu.pipeline('outputError'), [yq, y, err], [{ u32: T }, { u32: N }], [Math.ceil(T / 64)]);
  return err;
}
