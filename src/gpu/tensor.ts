// A GPU tensor: a storage buffer plus its logical shape, row-major. f32 (activations, working copies), u32 (token
// ids), or weights in 16-bit storage (f16 / bf16, two per u32: half.ts) that the matmul and embed kernels unpack.
export type Dtype = 'f32' | 'u32' | 'f16' | 'bf16';

export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  /** element count */
  readonly size: number;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Bytes a tensor's elements take in its buffer (16-bit storage packs two per word). */
export function byteSize(size: number, dtype: Dtype): number {
  return dtype === 'f16' || dtype === 'bf16' ? Math.ceil(size / 2) * 4 : size * 4;
}
