// A GPU tensor: a storage buffer plus its logical shape. Always f32 (or u32 for token ids); row-major.
export interface GpuTensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: 'f32' | 'u32';
  /** element count */
  readonly size: number;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
