// Node entry for the GPU layer: Dawn through the `webgpu` package, WGSL read from shaders/ on disk.
// Machines without a GPU driver get SwiftShader: Debian's chromium ships a Vulkan ICD for it, and Dawn's Vulkan
// loader finds it through VK_ICD_FILENAMES, which we set only when no other driver answers.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setGpuProvider } from './device.ts';
import { setShaderLoader } from './shaders.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const shaderDir = fileURLToPath(new URL('../../shaders/', import.meta.url));

setShaderLoader((name) => readFileSync(`${shaderDir}${name}.wgsl`, 'utf8'));

// Dawn tears its instance down when the GPU object is garbage-collected, even under a live device, which crashes
// SwiftShader's worker threads: keep every instance we create alive for the life of the process.
const instances: GPU[] = [];

/** The Dawn GPU object the engine's device came from (benchmarks hand it to peers so both run on one adapter). */
export function nodeGpuInstance(): GPU | undefined {
  return instances[instances.length - 1];
}

setGpuProvider(async () => {
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  const hint =
    `Install a Vulkan driver, or Debian's chromium package (apt-get install chromium libvulkan1), whose SwiftShader ` +
    `ICD at ${SWIFTSHADER_ICD} the lab uses when no other driver works.`;
  let gpu = dawn.create([]);
  instances.push(gpu);
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) {
    const adapter = await gpu.requestAdapter().catch(() => null);
    if (!adapter) {
      process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
      gpu = dawn.create([]);
      instances.push(gpu);
    }
  }
  return { gpu, hint };
});
