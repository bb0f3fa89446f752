// Page/worker entry for the GPU layer: WGSL bundled by Vite as raw strings.
import { setShaderLoader, type ShaderName } from './shaders.ts';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

setShaderLoader((name: ShaderName) => {
  const src = sources[`../../shaders/${name}.wgsl`];
  if (src === undefined) throw new Error(`shaders/${name}.wgsl is not bundled`);
  return src;
});
