// The one file that owns WebGPU objects: device, pipeline cache, buffer pool, command batching, error scopes and
// device loss. Ops (ops.ts) describe dispatches; this class runs them.
import { DeviceLostError, GpuLimitError, GpuOperationError } from '../errors.ts';
import { acquireDevice, deviceLostError, type DeviceInfo } from './device.ts';
import { shaderSource, type ShaderName } from './shaders.ts';
import { byteSize, numel, type Dtype, type GpuTensor } from './tensor.ts';
import { fromHalfBits, type Half } from './half.ts';

export type Uniform = { u32: number } | { f32: number } | { i32: number };

// GPUBufferUsage is a global only once Dawn's globals are installed (Node), so read it lazily.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

export class Gpu {
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<ShaderName, GPUShaderModule>();
  /** released storage buffers by byte size, reused before creating new ones */
  private readonly pool = new Map<number, GPUBuffer[]>();
  private encoder: GPUCommandEncoder | null = null;
  private transient: GPUBuffer[] = [];
  private pendingErrors: Promise<GPUError | null>[] = [];
  private lostError: DeviceLostError | null = null;
  /** bytes in live (not pooled) storage buffers, and the peak of that */
  liveBytes = 0;
  peakBytes = 0;

  private constructor(
    readonly device: GPUDevice,
    readonly info: DeviceInfo,
  ) {
    device.lost.then((info) => {
      if (info.reason !== 'destroyed') this.lostError = deviceLostError(info);
    });
  }

  static async create(): Promise<Gpu> {
    const { device, info } = await acquireDevice();
    const gpu = new Gpu(device, info);
    const forced = typeof process !== 'undefined' ? process.env?.QUANTLAB_KERNELS : undefined;
    gpu.kernelVariant = forced === 'tiled' || forced === 'direct' ? forced : info.software ? 'direct' : 'tiled';
    return gpu;
  }

  /**
   * Kernel variant per op: software adapters get the barrier-free kernels (SwiftShader runs workgroup barriers
   * on fibers, far slower than the reuse they buy); real GPUs get the tiled ones. QUANTLAB_KERNELS=tiled|direct
   * overrides, so both paths can be tested and benchmarked on any adapter.
   */
  variant(_op: 'matmul' | 'attention'): 'tiled' | 'direct' {
    return this.kernelVariant;
  }
  kernelVariant: 'tiled' | 'direct' = 'tiled';

  get limits(): DeviceInfo['limits'] {
    return this.info.limits;
  }

  /** Throws the device-lost error once the device is gone, so callers stop with a clear message. */
  checkAlive(): void {
    if (this.lostError) throw this.lostError;
  }

  // ---- buffers --------------------------------------------------------------------------------------------------

  private allocate(bytes: number, what: string): GPUBuffer {
    this.checkAlive();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.limits.maxStorageBufferBindingSize || size > this.limits.maxBufferSize) {
      const allowed = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
      throw new GpuLimitError(
        `${what} needs a ${fmtBytes(size)} buffer; this GPU allows ${fmtBytes(allowed)} per binding ` +
          `(maxStorageBufferBindingSize), ${fmtBytes(size - this.limits.maxStorageBufferBindingSize)} short.`,
      );
    }
    const pooled = this.pool.get(size)?.pop();
    this.liveBytes += size;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return pooled ?? this.device.createBuffer({ size, usage: storageUsage(), label: what });
  }

  tensor(shape: readonly number[], dtype: Dtype = 'f32', what = 'tensor'): GpuTensor {
    const size = numel(shape);
    return { buffer: this.allocate(byteSize(size, dtype), what), shape: [...shape], dtype, size };
  }

  /** 16-bit weights (f16 or bf16 encodings) as they are: two per word, no widening. */
  upload16(bits: Uint16Array, format: Half, shape: readonly number[], what = 'weights'): GpuTensor {
    if (bits.length !== numel(shape)) throw new Error(`upload ${what}: ${bits.length} values for shape [${shape}]`);
    const t = this.tensor(shape, format, what);
    this.flush();
    // writeBuffer needs a multiple of 4 bytes: an odd count gets one zero half of padding
    const data = bits.length % 2 === 0 ? bits : Uint16Array.from({ length: bits.length + 1 }, (_, i) => bits[i] ?? 0);
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  upload(data: Float32Array | Uint32Array, shape: readonly number[], what = 'tensor'): GpuTensor {
    if (data.length !== numel(shape)) throw new Error(`upload ${what}: ${data.length} values for shape [${shape}]`);
    const t = this.tensor(shape, data instanceof Uint32Array ? 'u32' : 'f32', what);
    // writeBuffer runs on the queue at once, ahead of anything still recorded in our encoder: submit that first,
    // or a pooled buffer that pending dispatches still read would be overwritten under them.
    this.flush();
    this.device.queue.writeBuffer(t.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    return t;
  }

  release(t: GpuTensor | null | undefined): void {
    if (!t) return;
    const size = t.buffer.size;
    this.liveBytes -= size;
    let list = this.pool.get(size);
    if (!list) this.pool.set(size, (list = []));
    list.push(t.buffer);
  }

  /** Frees pooled buffers (between runs, or when memory is tight). */
  trim(): void {
    for (const list of this.pool.values()) for (const b of list) b.destroy();
    this.pool.clear();
  }

  // ---- pipelines and dispatch -------------------------------------------------------------------------------------

  pipeline(shader: ShaderName, entryPoint = 'main', constants: Record<string, number> = {}): GPUComputePipeline {
    const key = `${shader}:${entryPoint}:${JSON.stringify(constants)}`;
    let p = this.pipelines.get(key);
    if (!p) {
      let module = this.modules.get(shader);
      if (!module) {
        module = this.device.createShaderModule({ code: shaderSource(shader), label: shader });
        this.modules.set(shader, module);
      }
      this.device.pushErrorScope('validation');
      p = this.device.createComputePipeline({
        layout: 'auto',
        compute: { module, entryPoint, constants },
        label: key,
      });
      this.pendingErrors.push(this.device.popErrorScope());
      this.pipelines.set(key, p);
    }
    return p;
  }

  /**
   * Records one dispatch. `buffers` bind to 0..n-1 in order and the uniform (if any) to n: every kernel declares its
   * bindings in that order, read-only first, outputs next, parameters last.
   */
  dispatch(
    pipeline: GPUComputePipeline,
    buffers: GpuTensor[],
    uniforms: Uniform[] | null,
    workgroups: [number, number?, number?],
  ): void {
    this.checkAlive();
    const entries: GPUBindGroupEntry[] = buffers.map((t, i) => ({ binding: i, resource: { buffer: t.buffer } }));
    if (uniforms) {
      const ub = this.device.createBuffer({
        size: Math.max(16, Math.ceil((uniforms.length * 4) / 16) * 16),
        usage: GPUBufferUsage.UNIFORM,
        mappedAtCreation: true,
      });
      const view = new DataView(ub.getMappedRange());
      uniforms.forEach((u, i) => {
        if ('u32' in u) view.setUint32(i * 4, u.u32, true);
        else if ('i32' in u) view.setInt32(i * 4, u.i32, true);
        else view.setFloat32(i * 4, u.f32, true);
      });
      ub.unmap();
      this.transient.push(ub);
      entries.push({ binding: buffers.length, resource: { buffer: ub } });
    }
    const [x, y = 1, z = 1] = workgroups;
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new GpuLimitError(
        `dispatch ${pipeline.label} needs ${x}×${y}×${z} workgroups; this GPU allows ${maxWg} per dimension`,
      );
    }
    if (x === 0 || y === 0 || z === 0) return;
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    this.encoder ??= this.device.createCommandEncoder();
    const pass = this.encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }

  /** Copies n f32 values between tensors (recorded like a dispatch). */
  copy(src: GpuTensor, srcOffset: number, dst: GpuTensor, dstOffset: number, n: number): void {
    this.encoder ??= this.device.createCommandEncoder();
    this.encoder.copyBufferToBuffer(src.buffer, srcOffset * 4, dst.buffer, dstOffset * 4, n * 4);
  }

  /** Submits what was recorded; errors are collected and raised at the next read(). */
  flush(): void {
    if (!this.encoder) return;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    this.pendingErrors.push(this.device.popErrorScope(), this.device.popErrorScope());
    this.encoder = null;
    // Uniform buffers die only once the GPU is done with them: destroying them right after submit crashes
    // SwiftShader's worker threads.
    const done = this.transient;
    this.transient = [];
    this.device.queue.onSubmittedWorkDone().then(() => done.forEach((b) => b.destroy()));
  }

  /** Waits for the GPU and throws the first error any earlier dispatch raised. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    const errors = await Promise.all(this.pendingErrors);
    this.pendingErrors = [];
    this.checkAlive();
    const err = errors.find((e) => e);
    if (err) throw new GpuOperationError(`WebGPU error: ${err.message}`);
  }

  async read(t: GpuTensor): Promise<Float32Array> {
    return (await this.readMany([t]))[0];
  }

  /** Reads several tensors through one staging buffer and one wait, instead of one round trip each. */
  async readMany(ts: GpuTensor[]): Promise<Float32Array[]> {
    const offsets: number[] = [];
    let total = 0;
    const bytes = (t: GpuTensor) => Math.ceil(byteSize(t.size, t.dtype) / 16) * 16;
    for (const t of ts) {
      offsets.push(total);
      total += bytes(t);
    }
    const staging = this.device.createBuffer({
      size: Math.max(16, total),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.encoder ??= this.device.createCommandEncoder();
    ts.forEach((t, i) => this.encoder!.copyBufferToBuffer(t.buffer, 0, staging, offsets[i], bytes(t)));
    await this.sync();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.checkAlive();
      throw new GpuOperationError(`reading a GPU buffer failed: ${(e as Error).message}`);
    }
    const mapped = staging.getMappedRange();
    // 16-bit weights come back widened to f32 (exactly)
    const out = ts.map((t, i) =>
      t.dtype === 'f16' || t.dtype === 'bf16'
        ? fromHalfBits(new Uint16Array(mapped.slice(offsets[i], offsets[i] + t.size * 2)), t.dtype)
        : new Float32Array(mapped.slice(offsets[i], offsets[i] + t.size * 4)),
    );
    staging.unmap();
    staging.destroy();
    return out;
  }

  async readU32(t: GpuTensor): Promise<Uint32Array> {
    const f = await this.read(t);
    return new Uint32Array(f.buffer);
  }

  destroy(): void {
    this.trim();
    this.device.destroy();
  }
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
