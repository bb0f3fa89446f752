// The forward pass and every quantization method are written once against this interface and run on two backends:
// WebGPU (the kernel table's GPU ops, kernels.ts, running the WGSL kernels) and the plain TypeScript reference (their
// twins, reference.ts). Comparing the two narrows a wrong whole-model or quantized figure down op by op.
// The kernels' part of the interface is derived from the twins' signatures and both adapters are built from the
// table, so a new kernel needs no line here; what is written out below is what is not a kernel.
import type { Gpu } from './gpu.ts';
import { KERNELS, type Group, type KernelOn, type Kernels, type Twin } from './kernels.ts';
import { cpu, type CpuTensor } from './reference.ts';
import { fromHalfBits, type Half } from './half.ts';
import type { GpuTensor, Ids } from './tensor.ts';

export type { ActQuant, Ids } from './tensor.ts';

/** What a backend is besides its kernels: tensors in and out, shapes, waiting, freeing, its limits. */
export interface BackendBase<T> {
  readonly name: 'webgpu' | 'reference';
  /** the adapter, as it describes itself ('reference' for the TypeScript twins): what per-adapter choices key on */
  readonly adapter: string;
  /** a copy of host data on the backend */
  fromHost(data: Float32Array, shape: readonly number[]): T;
  /** weights in 16-bit storage from their encodings (a checkpoint's F16/BF16 bytes), never widened on the GPU */
  fromHost16(bits: Uint16Array, format: Half, shape: readonly number[]): T;
  /** how x is stored: f32, or f16 / bf16 weights */
  storage(x: T): 'f32' | Half;
  /** a zero-filled tensor */
  zeros(shape: readonly number[]): T;
  shape(x: T): readonly number[];
  /** u32 data (token ids, labels, column groups) on the backend */
  ids(data: Uint32Array): Ids<T>;
  /** rows [r0, r1) of a [rows, C] tensor, as a new tensor */
  rows(x: T, r0: number, r1: number): T;
  /** writes src's rows into dst [rows, C] from row r0 on (a KV cache's new keys) */
  writeRows(dst: T, r0: number, src: T): void;
  toHost(x: T): Promise<Float32Array>;
  /** several tensors back in one go (one sync on the GPU) */
  readMany(xs: T[]): Promise<Float32Array[]>;
  readIds(x: Ids<T>): Promise<Uint32Array>;
  /** resolves when the work queued so far is done (for timings) */
  sync(): Promise<void>;
  release(x: T | Ids<T> | null | undefined): void;
  /** largest tensor, in bytes, one binding can hold */
  readonly maxTensorBytes: number;
  /**
   * a CPU runs the kernels (the reference, or a software adapter such as SwiftShader): serial searches go faster on the
   * host
   */
  readonly software: boolean;
}

/** the table's kernels of one group, as methods on a backend with tensors T */
type GroupKernels<G extends Group, T> = {
  [N in keyof Kernels as Kernels[N]['group'] extends G ? N : never]: KernelOn<Kernels[N]['twin'], T>;
};

/** the groups other than core: one object of kernels per method, `be.gptq.hessian(…)` */
export type MethodGroup = Exclude<Group, 'core'>;
type MethodKernels<T> = { readonly [G in MethodGroup]: GroupKernels<G, T> };

/** A backend: the base, the core kernels flat (`be.matmul(…)`), the methods' kernels by method (`be.gptq.…`). */
export interface Backend<T> extends BackendBase<T>, GroupKernels<'core', T>, MethodKernels<T> {}

/** The kernels of the table as a backend's members, each made by `make` from its table entry. */
function kernelMembers<T>(make: (spec: Kernels[keyof Kernels]) => Twin): GroupKernels<'core', T> & MethodKernels<T> {
  const members: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(KERNELS) as [keyof Kernels, Kernels[keyof Kernels]][]) {
    const holder = spec.group === 'core' ? members : ((members[spec.group] ??= {}) as Record<string, unknown>);
    holder[name] = make(spec);
  }
  // by construction: each member is its entry's op or twin, whose signature the types above derive from the twin
  return members as GroupKernels<'core', T> & MethodKernels<T>;
}

export function gpuBackend(gpu: Gpu): Backend<GpuTensor> {
  return {
    name: 'webgpu',
    adapter: gpu.info.description,
    fromHost: (d, s) => gpu.upload(d, s),
    fromHost16: (bits, f, s) => gpu.upload16(bits, f, s),
    storage: (x) => (x.dtype === 'f16' || x.dtype === 'bf16' ? x.dtype : 'f32'),
    zeros: (s) => gpu.upload(new Float32Array(s.reduce((a, b) => a * b, 1)), s),
    shape: (x) => x.shape,
    ids: (d) => gpu.upload(d, [d.length], 'ids'),
    rows(x, r0, r1) {
      const C = x.shape[x.shape.length - 1];
      const out = gpu.tensor([r1 - r0, C], 'f32', 'rows');
      gpu.copy(x, r0 * C, out, 0, (r1 - r0) * C);
      return out;
    },
    writeRows(dst, r0, src) {
      const C = dst.shape[dst.shape.length - 1];
      if (src.size % C !== 0 || r0 * C + src.size > dst.size)
        throw new Error(`writeRows: [${src.shape}] does not fit [${dst.shape}] from row ${r0}`);
      gpu.copy(src, 0, dst, r0 * C, src.size);
    },
    toHost: (x) => gpu.read(x),
    readMany: (xs) => gpu.readMany(xs),
    readIds: (x) => gpu.readU32(x),
    sync: () => gpu.sync(),
    release: (x) => gpu.release(x as GpuTensor | null),
    get maxTensorBytes() {
      return Math.min(gpu.limits.maxStorageBufferBindingSize, gpu.limits.maxBufferSize);
    },
    software: gpu.info.software,
    ...kernelMembers<GpuTensor>(
      ({ op }) =>
        (...args: unknown[]) =>
          (op as (gpu: Gpu, ...args: unknown[]) => unknown)(gpu, ...args),
    ),
  };
}

export function referenceBackend(): Backend<CpuTensor> {
  return {
    name: 'reference',
    adapter: 'reference',
    fromHost: (d, s) => cpu(d.slice(), [...s]),
    // the reference keeps every tensor in f32: 16-bit storage is the values 16 bits hold
    fromHost16: (bits, f, s) => cpu(fromHalfBits(bits, f), [...s]),
    storage: () => 'f32',
    zeros: (s) => cpu(new Float32Array(s.reduce((a, b) => a * b, 1)), [...s]),
    shape: (x) => x.shape,
    ids: (d) => d.slice() as Ids<CpuTensor>,
    rows: (x, r0, r1) => {
      const C = x.shape[x.shape.length - 1];
      return cpu(x.data.slice(r0 * C, r1 * C), [r1 - r0, C]);
    },
    writeRows(dst, r0, src) {
      const C = dst.shape[dst.shape.length - 1];
      if (src.data.length % C !== 0 || r0 * C + src.data.length > dst.data.length)
        throw new Error(`writeRows: [${src.shape}] does not fit [${dst.shape}] from row ${r0}`);
      dst.data.set(src.data, r0 * C);
    },
    toHost: async (x) => x.data.slice(),
    readMany: async (xs) => xs.map((x) => x.data.slice()),
    readIds: async (x) => (x as Uint32Array).slice(),
    sync: async () => {},
    release: () => {},
    maxTensorBytes: 2 ** 31,
    software: true,
    ...kernelMembers<CpuTensor>(({ twin }) => twin),
  };
}
