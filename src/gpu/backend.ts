// The forward pass is written once against this interface and runs on two backends: WebGPU (ops.ts) and the plain
// TypeScript reference (reference.ts). Comparing the two narrows a wrong whole-model result down op by op.
import type { Gpu } from './gpu.ts';
import * as ops from './ops.ts';
import * as ref from './reference.ts';
import type { GpuTensor } from './tensor.ts';

export interface Backend<T> {
  readonly name: 'webgpu' | 'reference';
  fromHost(data: Float32Array, shape: number[]): T;
  ids(data: Uint32Array): Ids<T>;
  matmul(x: T, W: T, b: T | null): T;
  embed(E: T, ids: Ids<T>): T;
  /** perm: the norm's output channel c is input channel perm[c] (a folded reorder) */
  layerNorm(x: T, g: T, b: T, eps: number, perm?: Ids<T> | null): T;
  rmsNorm(x: T, g: T, eps: number, perm?: Ids<T> | null): T;
  rope(cos: T, sin: T, x: T, H: number, D: number, pos0: number): void;
  /** probLevels > 0: softmax probabilities rounded to round(p·L)/L */
  attention(q: T, k: T, v: T, H: number, HKV: number, D: number, scale: number, probLevels?: number): T;
  /** in place: static fake-quant with each channel's cluster parameters */
  actQuant(x: T, q: ActQuant<T>): void;
  relu(y: T): void;
  gelu(y: T): void;
  siluMul(gate: T, up: T): T;
  add(d: T, h: T): void;
  crossEntropy(logits: T, targets: Ids<T>): T;
  /** rows [r0, r1) of a [rows, C] tensor, as a new tensor */
  rows(x: T, r0: number, r1: number): T;
  countNonFinite(x: T): Promise<number>;
  toHost(x: T): Promise<Float32Array>;
  release(x: T | Ids<T> | null): void;
  /** largest tensor, in bytes, one binding can hold */
  readonly maxTensorBytes: number;
}

/** Static activation fake-quant at one site (RPTQ): each channel's cluster and (scale, zero) per cluster. */
export interface ActQuant<T> {
  cluster: Ids<T>; // [C] u32
  params: T; // [clusters, 2]
  maxq: number;
}

/** token ids on a backend */
export type Ids<T> = T extends GpuTensor ? GpuTensor : Uint32Array;

export function gpuBackend(gpu: Gpu): Backend<GpuTensor> {
  return {
    name: 'webgpu',
    fromHost: (d, s) => gpu.upload(d, s),
    ids: (d) => gpu.upload(d, [d.length], 'ids'),
    matmul: (x, W, b) => ops.matmul(gpu, x, W, b),
    embed: (E, ids) => ops.embed(gpu, E, ids),
    layerNorm: (x, g, b, eps, perm) => ops.layerNorm(gpu, x, g, b, eps, perm ?? null),
    rmsNorm: (x, g, eps, perm) => ops.rmsNorm(gpu, x, g, eps, perm ?? null),
    rope: (c, s, x, H, D, p) => ops.rope(gpu, c, s, x, H, D, p),
    attention: (q, k, v, H, HKV, D, sc, levels) => ops.attention(gpu, q, k, v, H, HKV, D, sc, levels ?? 0),
    actQuant: (x, a) => ops.actQuant(gpu, a.cluster, a.params, x, a.maxq),
    relu: (y) => ops.relu(gpu, y),
    gelu: (y) => ops.gelu(gpu, y),
    siluMul: (g, u) => ops.siluMul(gpu, g, u),
    add: (d, h) => ops.add(gpu, d, h),
    crossEntropy: (l, t) => ops.crossEntropy(gpu, l, t),
    rows(x, r0, r1) {
      const C = x.shape[x.shape.length - 1];
      const out = gpu.tensor([r1 - r0, C], 'f32', 'rows');
      gpu.copy(x, r0 * C, out, 0, (r1 - r0) * C);
      return out;
    },
    countNonFinite: (x) => ops.checkFinite(gpu, x),
    toHost: (x) => gpu.read(x),
    release: (x) => gpu.release(x as GpuTensor | null),
    get maxTensorBytes() {
      return Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    },
  };
}

export function referenceBackend(): Backend<ref.CpuTensor> {
  return {
    name: 'reference',
    fromHost: (d, s) => ref.cpu(d, s),
    ids: (d) => d as Ids<ref.CpuTensor>,
    matmul: ref.matmul,
    embed: (E, ids) => ref.embed(E, ids as Uint32Array),
    layerNorm: (x, g, b, eps, perm) => ref.layerNorm(x, g, b, eps, (perm as Uint32Array | null | undefined) ?? null),
    rmsNorm: (x, g, eps, perm) => ref.rmsNorm(x, g, eps, (perm as Uint32Array | null | undefined) ?? null),
    rope: ref.rope,
    attention: ref.attention,
    actQuant: (x, a) => ref.actQuant(a.cluster as Uint32Array, a.params, x, a.maxq),
    relu: ref.relu,
    gelu: ref.gelu,
    siluMul: ref.siluMul,
    add: ref.add,
    crossEntropy: (l, t) => ref.crossEntropy(l, t as Uint32Array),
    rows: (x, r0, r1) => {
      const C = x.shape[x.shape.length - 1];
      return ref.cpu(x.data.slice(r0 * C, r1 * C), [r1 - r0, C]);
    },
    countNonFinite: async (x) => ref.checkFinite(x),
    toHost: async (x) => x.data,
    release: () => {},
    maxTensorBytes: 2 ** 31,
  };
}
