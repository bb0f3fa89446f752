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

/** u32 data (token ids, labels, column groups) on a backend: a u32 GpuTensor on WebGPU, a Uint32Array in the twins */
export type Ids<T> = T extends GpuTensor ? GpuTensor : Uint32Array;

/** Static activation fake-quant at one site (RPTQ): each channel's cluster and (scale, zero) per cluster. */
export interface ActQuant<T> {
  cluster: Ids<T>; // [C] u32
  params: T; // [clusters, 2]
  maxq: number;
}
