// WGSL sources by kernel-family name (shaders/<name>.wgsl). The page registers a loader built from Vite's `?raw`
// imports (browser.ts); Node registers one that reads the same files from disk (node.ts).
export type ShaderName =
  | 'matmul'
  | 'embed'
  | 'layerNorm'
  | 'rmsNorm'
  | 'rope'
  | 'attention'
  | 'activation'
  | 'add'
  | 'checkFinite'
  | 'hessian'
  | 'fakeQuant'
  | 'gptqBlock'
  | 'gptqUpdate'
  | 'outputError'
  | 'channelRange'
  | 'kmeans'
  | 'actQuant'
  | 'tokenQuant'
  | 'blockRotate'
  | 'greedyRotation'
  | 'claqBlock'
  | 'loglikelihood'
  | 'cholesky'
  | 'convert'
  | 'gptqDequant';

let loader: ((name: ShaderName) => string) | null = null;
const cache = new Map<ShaderName, string>();

export function setShaderLoader(load: (name: ShaderName) => string): void {
  loader = load;
  cache.clear();
}

export function shaderSource(name: ShaderName): string {
  let src = cache.get(name);
  if (src === undefined) {
    if (!loader)
      throw new Error('No WGSL loader registered: import src/gpu/node.ts (Node) or src/gpu/browser.ts (page).');
    src = loader(name);
    cache.set(name, src);
  }
  return src;
}
