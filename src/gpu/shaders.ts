// WGSL sources by kernel-family name (shaders/<name>.wgsl): the names are the kernel table's (kernels.ts). The page
// registers a loader built from Vite's `?raw` imports (browser.ts); Node registers one that reads the same files from
// disk (node.ts). A line `// #include <file>` is replaced by shaders/<file>.wgsl (shared helpers such as half16).
import type { KERNELS } from './kernels.ts';

export type ShaderName = (typeof KERNELS)[keyof typeof KERNELS]['shader'];

/** the text of shaders/<file>.wgsl, as it is on disk or in the bundle */
export type ShaderLoader = (file: string) => string;

let loader: ShaderLoader | null = null;
const cache = new Map<ShaderName, string>();

export function setShaderLoader(load: ShaderLoader): void {
  loader = load;
  cache.clear();
}

/** a file's text with its includes pasted in (each include's own includes too, each file at most once) */
export function withIncludes(file: string, load: ShaderLoader, seen = new Set<string>([file])): string {
  return load(file).replace(/^\/\/ #include (\w+)[ \t]*$/gm, (_, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return withIncludes(name, load, seen);
  });
}

export function shaderSource(name: ShaderName): string {
  let src = cache.get(name);
  if (src === undefined) {
    if (!loader)
      throw new Error('No WGSL loader registered: import src/gpu/node.ts (Node) or src/gpu/browser.ts (page).');
    src = withIncludes(name, loader);
    cache.set(name, src);
  }
  return src;
}
