// Shared test fixtures: the real models and texts in ../shared, a WebGPU device (SwiftShader in CI: a GPU test
// fails loudly without an adapter, it never skips), and comparison helpers with named tolerances.
import '../src/gpu/node.ts';
import { fileURLToPath } from 'node:url';
import { Gpu } from '../src/gpu/gpu.ts';
import { folderSource } from '../src/model/source.node.ts';
import { loadModel } from '../src/model/load.ts';

export const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));
export const MODELS = {
  stories260K: `${SHARED}models/stories260K`,
  optTiny: `${SHARED}models/opt-tiny`,
  optTinyBpe: `${SHARED}models/opt-tiny-bpe`,
};

/** f32 kernels vs the f32/f64 reference: accumulation order differs, so compare relative to the values' scale. */
export const TOL = { f32: 2e-5, ppl: 0.005 };

let gpuPromise: Promise<Gpu> | null = null;
export function sharedGpu(): Promise<Gpu> {
  gpuPromise ??= Gpu.create();
  return gpuPromise;
}

export function loadFixture(path: string) {
  return loadModel(folderSource(path));
}

/** max |a − b| / max(1, max |b|) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let d = 0;
  let s = 1;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / s;
}
