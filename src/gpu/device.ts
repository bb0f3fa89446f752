// One way to get a WebGPU device everywhere: `navigator.gpu` in a page or worker, the `webgpu` package (Dawn) in
// Node. The Node provider lives in node.ts so that browser bundles never see Dawn.
import { DeviceLostError, GpuLimitError, GpuUnavailableError } from '../errors.ts';

export type GpuProvider = () => Promise<{ gpu: GPU; hint: string }>;

let nodeProvider: GpuProvider | null = null;

/** Registered by src/gpu/node.ts; the page never calls it. */
export function setGpuProvider(provider: GpuProvider): void {
  nodeProvider = provider;
}

export interface DeviceInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** true when the adapter is a software rasterizer (SwiftShader): timings are not GPU timings. */
  software: boolean;
  shaderF16: boolean;
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
  };
}

export interface AcquiredDevice {
  device: GPUDevice;
  info: DeviceInfo;
}

/** The limits the engine asks for: the adapter's real maxima, so large layers fit where the hardware allows. */
const LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

/** Minimums below which no kernel of the lab can run (the WebGPU defaults are all above these). */
const REQUIRED = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupStorageSize: 16384,
  maxStorageBuffersPerShaderStage: 6,
};

/** The adapter, or null with a hint that says what is missing. */
async function findAdapter(): Promise<{ adapter: GPUAdapter | null; hint: string }> {
  let gpu: GPU | undefined = typeof navigator !== 'undefined' ? navigator.gpu : undefined;
  let hint =
    'This browser exposes no WebGPU (navigator.gpu is undefined). Use Chrome/Edge 113+ or Firefox 141+, or start ' +
    'Chromium with --enable-unsafe-webgpu; headless Chromium on a machine without a GPU also needs ' +
    '--use-webgpu-adapter=swiftshader.';
  if (!gpu && nodeProvider) ({ gpu, hint } = await nodeProvider());
  if (!gpu) return { adapter: null, hint };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return { adapter, hint: adapter ? hint : `No WebGPU adapter. ${hint}` };
}

/** The adapter's binding limits, without creating a device (null when there is no WebGPU adapter). */
export async function adapterLimits(): Promise<{ maxStorageBufferBindingSize: number; maxBufferSize: number } | null> {
  const { adapter } = await findAdapter();
  return adapter
    ? {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      }
    : null;
}

export async function acquireDevice(): Promise<AcquiredDevice> {
  const { adapter, hint } = await findAdapter();
  if (!adapter) throw new GpuUnavailableError(hint);

  for (const [name, min] of Object.entries(REQUIRED)) {
    const have = adapter.limits[name as keyof GPUSupportedLimits] as number;
    if (have < min) throw new GpuLimitError(`This GPU's ${name} is ${have}; the lab needs at least ${min}.`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of LIMITS) requiredLimits[name] = adapter.limits[name] as number;
  const shaderF16 = adapter.features.has('shader-f16');
  const device = await adapter.requestDevice({
    requiredLimits,
    requiredFeatures: shaderF16 ? ['shader-f16'] : [],
  });
  const ai = adapter.info;
  const description = [ai.vendor, ai.architecture, ai.device, ai.description].filter(Boolean).join(' / ');
  return {
    device,
    info: {
      vendor: ai.vendor,
      architecture: ai.architecture,
      description: description || 'unknown adapter',
      software: /swiftshader|llvmpipe|software/i.test(description),
      shaderF16,
      limits: {
        maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize,
        maxBufferSize: device.limits.maxBufferSize,
        maxComputeWorkgroupStorageSize: device.limits.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: device.limits.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupsPerDimension: device.limits.maxComputeWorkgroupsPerDimension,
      },
    },
  };
}

export function deviceLostError(info: GPUDeviceLostInfo): DeviceLostError {
  return new DeviceLostError(
    `The GPU device was lost (${info.reason || 'unknown reason'}: ${info.message || 'no message'}). ` +
      'Nothing cached was lost; start the run again to create a new device.',
  );
}
