// Node entry for the GPU layer: Dawn through the `webgpu` package, WGSL read from shaders/ on disk.
// Machines without a GPU driver get SwiftShader: Debian's chromium ships a Vulkan ICD for it, and Dawn's Vulkan
// loader finds it through VK_ICD_FILENAMES, which we set only when no other driver answers.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setGpuProvider } from './device.ts';
import { setShaderLoader } from './shaders.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
const shaderDir = fileURLToPath(new URL('../../shaders/', import.meta.url));

setShaderLoader((file) => readFileSync(`${shaderDir}${file}.wgsl`, 'utf8'));

// Dawn tears its instance down when the GPU object is garbage-collected, even under a live device, which crashes
// SwiftShader's worker threads: keep every instance we create alive for the life of the process.
const instances: GPU[] = [];

/** The Dawn GPU object the engine's device came from (benchmarks hand it to peers so both run on one adapter). */
export function nodeGpuInstance(): GPU | undefined {
  return instances[instances.length - 1];
}

/** A GPU device node: without one, no hardware Vulkan driver can answer, and asking them only prints warnings. */
function hasGpuDevice(): boolean {
  const dri = existsSync('/dev/dri') ? readdirSync('/dev/dri').some((f) => f.startsWith('renderD')) : false;
  return dri || existsSync('/dev/nvidia0') || existsSync('/dev/dxg');
}

/**
 * Dawn's Node binding waits for the GPU by re-arming setImmediate from native code while any promise of its is
 * pending: a busy loop that takes a whole core from SwiftShader's threads (a run took 1.5x as long on two cores).
 * Its native callbacks keep setImmediate for the first 2 ms of a wait, then poll every millisecond.
 */
function pollDawnGently(): void {
  const key = Symbol.for('quantlab.gentleDawnPolling');
  const g = globalThis as typeof globalThis & { [k: symbol]: boolean };
  if (g[key]) return;
  g[key] = true;
  const immediate = globalThis.setImmediate;
  let streakStart = 0;
  let last = -Infinity;
  const patched = (fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }')) {
      const now = performance.now();
      if (now - last > 5) streakStart = now;
      last = now;
      if (now - streakStart > 2) return setTimeout(fn, 1, ...args) as unknown as NodeJS.Immediate;
    }
    return immediate(fn, ...args);
  };
  globalThis.setImmediate = Object.assign(patched, immediate) as typeof setImmediate;
}

setGpuProvider(async () => {
  pollDawnGently();
  // the Vulkan loader's window-system code complains on stderr when there is no runtime dir (headless machines, CI);
  // a private empty one keeps the user's terminal for the lab's own output
  if (!process.env.XDG_RUNTIME_DIR && process.platform === 'linux')
    process.env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'quantlab-xdg-'));
  const dawn = await import('webgpu');
  Object.assign(globalThis, dawn.globals);
  const hint =
    `Install a Vulkan driver, or Debian's chromium package (apt-get install chromium libvulkan1), whose SwiftShader ` +
    `ICD at ${SWIFTSHADER_ICD} the lab uses when no other driver works.`;
  if (!process.env.VK_ICD_FILENAMES && process.platform === 'linux' && !hasGpuDevice() && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
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
