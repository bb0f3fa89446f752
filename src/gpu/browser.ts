// Page/worker entry for the GPU layer: WGSL bundled by Vite as raw strings.
import { setShaderLoader } from './shaders.ts';

const sources = import.meta.glob('../../shaders/*.wgsl', { query: '?raw', import: 'default', eager: true }) as Record<
  string,
  string
>;

setShaderLoader((file) => {
  const src = sources[`../../shaders/${file}.wgsl`];
  if (src === undefined) throw new Error(`shaders/${file}.wgsl is not bundled`);
  return src;
});
