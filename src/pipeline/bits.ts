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

/**
 * Why the bits per weight are more than the codes, where that surprises (scales and zeros at least half the codes):
 * every (row, group) pair stores a 16-bit scale and a 16-bit zero, 32/G bits per weight for groups of G columns.
 */
export function bitsNote(layers: readonly LayerReport[]): string | null {
  if (!layers.length || overheadWord(layers) !== 'scales/zeros') return null;
  const codes = meanBits(layers, (l) => l.codeBits);
  const overhead = meanBits(layers) - codes;
  if (overhead < codes / 2) return null;
  const G = 32 / overhead;
  return (
    `Scales and zeros cost ${overhead.toFixed(2)} bits per weight ` +
    `here${overhead > codes ? ', more than the codes' : ''}: every output row stores a 16-bit scale and a ` +
    '16-bit zero per group, 32/G bits per weight for groups of G columns, ' +
    `and these layers' groups average ${G.toFixed(1)} columns.`
  );
}
