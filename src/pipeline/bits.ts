// Bits per weight over many layers (a block, the model): each layer counts by its size R·K, so the figure is the
// model's storage divided by its weights. Reports from before layers carried their size count each layer once.
import type { LayerReport } from './types.ts';

export function meanBits(layers: readonly LayerReport[], pick: (l: LayerReport) => number = (l) => l.bits): number {
  let num = 0;
  let den = 0;
  for (const l of layers) {
    const w = l.weights ?? 1;
    num += pick(l) * w;
    den += w;
  }
  return num / den;
}

/** What a layer's bits beyond its codes pay for: a uniform grid's scales and zeros, or CLAQ's codebooks (no groups). */
export function overheadWord(layers: readonly LayerReport[]): string {
  return layers.some((l) => l.groups === 0 && l.bits > l.codeBits) ? 'codebooks and reserved values' : 'scales/zeros';
}
