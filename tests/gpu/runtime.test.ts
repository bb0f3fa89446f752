// The GPU runtime's own promises: limits named in errors, WGSL errors caught by error scopes, buffers pooled.
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/kernels.ts';
import { GpuLimitError, GpuOperationError } from '../../src/errors.ts';
import { sharedGpu } from '../helpers.ts';

describe('GPU runtime', () => {
  it('has an adapter (SwiftShader in CI) and reports it', async () => {
    const gpu = await sharedGpu();
    expect(gpu.info.description.length).toBeGreaterThan(0);
    expect(gpu.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  it('a tensor larger than the binding limit is refused with the limit named and the shortfall', async () => {
    const gpu = await sharedGpu();
    const n = gpu.limits.maxStorageBufferBindingSize / 4 + 1024;
    expect(() => gpu.tensor([n], 'f32', 'lm_head')).toThrow(GpuLimitError);
    expect(() => gpu.tensor([n], 'f32', 'lm_head')).toThrow(
      /lm_head needs a .* buffer; this GPU allows .*maxStorageBufferBindingSize.* short/,
    );
  });

  it('a validation error inside a batch surfaces as a GpuOperationError at the next sync, and the device stays usable', async () => {
    const gpu = await sharedGpu();
    const x = gpu.upload(new Float32Array(64).fill(1), [64]);
    ops.add(gpu, x, x); // the same buffer bound read-only and read-write: invalid
    await expect(gpu.sync()).rejects.toThrow(GpuOperationError);
    const y = gpu.upload(new Float32Array(64).fill(-1), [64]);
    ops.relu(gpu, y);
    expect(Array.from(await gpu.read(y))).toEqual(new Array(64).fill(0));
  });

  it('reuses released buffers of the same size', async () => {
    const gpu = await sharedGpu();
    const a = gpu.tensor([1000]);
    const buf = a.buffer;
    gpu.release(a);
    expect(gpu.tensor([1000]).buffer).toBe(buf);
  });
});
