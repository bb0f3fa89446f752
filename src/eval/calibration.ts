// Calibration sets (GPTQ protocol): nsamples random windows of seqlen tokens from a calibration text, drawn with a
// seeded generator so the page and Node pick the same windows. Never the evaluation text of the same set.
import { DatasetError } from '../errors.ts';
import { SeededRandom } from '../quant/random.ts';
import { c4Documents, DATA_FILES, tinyStoriesSplit, type TextReader } from './datasets.ts';

export const CALIBRATION_SETS = ['c4', 'tinystories', 'tinyshakespeare', 'wikitext2', 'ptb'] as const;

/** Calibration text by name, or any text file (a path or URL ending in .txt / .raw). */
export async function calibrationText(name: string, read: TextReader): Promise<string> {
  switch (name) {
    case 'c4':
      return c4Documents(await read(DATA_FILES.c4), 1100, 2000).join(' ');
    case 'tinystories':
      return tinyStoriesSplit(await read(DATA_FILES.tinystories)).calib;
    case 'tinyshakespeare':
      return read(DATA_FILES.tinyshakespeare);
    case 'wikitext2':
    case 'ptb': {
      // only the train split may calibrate; the data folder here holds the test/validation splits
      const file = name === 'wikitext2' ? 'wikitext-2-raw/wiki.train.raw' : 'ptb/ptb.train.txt';
      try {
        return await read(file);
      } catch {
        throw new DatasetError(`calibration set "${name}" needs its train split (${file}) in the data folder; use c4, tinystories or tinyshakespeare`);
      }
    }
  }
  if (/\.(txt|raw|md)$/i.test(name)) return read(name);
  throw new DatasetError(`unknown calibration set "${name}"; choose from ${CALIBRATION_SETS.join(', ')} or a .txt file`);
}

/** nsamples windows ids[i, i + seqlen), i uniform in [0, N − seqlen − 1] (GPTQ's get_loaders). */
export function sampleWindows(ids: Uint32Array, nsamples: number, seqlen: number, seed: number): Uint32Array[] {
  if (ids.length < seqlen + 1) {
    throw new DatasetError(`the calibration text has ${ids.length} tokens, shorter than one window of ${seqlen} (+1)`);
  }
  const rng = new SeededRandom(seed);
  return Array.from({ length: nsamples }, () => {
    const i = rng.int(0, ids.length - seqlen - 1);
    return ids.slice(i, i + seqlen);
  });
}
