// Calibration sets (GPTQ protocol): nsamples random windows of seqlen tokens from a calibration text, drawn with a
// seeded generator so the page and Node pick the same windows. Never the evaluation text of the same set.
// A calibration source is a named set (read from the data folder), an absolute URL (fetched as it is written), or,
// from the command line only, a local text file. Share links carry only the first two (experimentSpec.ts).
import { DatasetError } from '../errors.ts';
import { SeededRandom } from '../quant/random.ts';
import { httpReader } from './dataFiles.ts';
import { c4Documents, DATA_FILES, tinyStoriesSplit, type TextReader } from './datasets.ts';

export const CALIBRATION_SETS = ['c4', 'tinystories', 'tinyshakespeare', 'wikitext2', 'ptb'] as const;

export type CalibrationKind = 'named' | 'url' | 'file';

export function calibrationKind(calib: string): CalibrationKind {
  if ((CALIBRATION_SETS as readonly string[]).includes(calib)) return 'named';
  return /^https?:\/\//i.test(calib) ? 'url' : 'file';
}

/** Calibration text by name, an http(s) URL, or a text file through `readFile` (the CLI's working directory). */
export async function calibrationText(name: string, read: TextReader, readFile?: TextReader): Promise<string> {
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
        throw new DatasetError(
          `calibration set "${name}" needs its train split (${file}) in the data folder; use c4, ` +
            'tinystories or tinyshakespeare',
        );
      }
    }
  }
  if (calibrationKind(name) === 'url') return httpReader('')(name);
  if (!readFile)
    throw new DatasetError(
      `unknown calibration set "${name}": choose from ${CALIBRATION_SETS.join(', ')}, or give an http(s) URL ` +
        '(a text file works from the command line)',
    );
  return readFile(name);
}

/**
 * The evaluation datasets whose text the calibration text overlaps: a few evenly spaced 80-character snippets of
 * the calibration text, and the share of them found verbatim in each evaluation text. Calibrating on the text a model
 * is scored on flatters the figure (e.g. calibration "tinystories" with evaluation "tinystories-file", the whole file).
 */
export function calibrationOverlap(calib: string, evalTexts: Record<string, string>, probes = 16): string[] {
  const len = 80;
  if (calib.length < len * 2) return [];
  const snippets = Array.from({ length: probes }, (_, i) =>
    calib.slice(Math.floor(((calib.length - len) * (i + 0.5)) / probes)).slice(0, len),
  ).filter((s) => s.trim().length > len / 2);
  return Object.entries(evalTexts)
    .filter(([, text]) => snippets.filter((s) => text.includes(s)).length * 2 > snippets.length)
    .map(([ds]) => ds);
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
