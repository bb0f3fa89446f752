// Evaluation and calibration texts, built exactly as the GPTQ/RPTQ protocol builds them (shared/docs/methods.md).
// A TextReader fetches a file relative to the data folder (from disk in Node, over HTTP in the page), checked by
// dataFiles.ts for being the file it names.
import { DatasetError } from '../errors.ts';
import type { TextReader } from './dataFiles.ts';

export type { TextReader };

export const EVAL_DATASETS = ['wikitext2', 'ptb', 'ptb-new', 'c4', 'tinystories', 'tinystories-file'] as const;
export type EvalDataset = (typeof EVAL_DATASETS)[number];

export const DATA_FILES = {
  wikitext2: 'wikitext-2-raw/wiki.test.raw',
  ptbValid: 'ptb/ptb.valid.txt',
  ptbTest: 'ptb/ptb.test.txt',
  c4: 'c4/c4-validation-sample-2k.jsonl',
  tinystories: 'tinystories/validation-subset.txt',
  tinyshakespeare: 'tinyshakespeare/input.txt',
};

export function checkDatasetName(name: string): EvalDataset {
  if (!(EVAL_DATASETS as readonly string[]).includes(name)) {
    throw new DatasetError(`unknown dataset "${name}"; choose from ${EVAL_DATASETS.join(', ')}`);
  }
  return name as EvalDataset;
}

/** Evaluation text, and for c4 the token cap (256 × seqlen) the c4-new protocol applies after tokenizing. */
export interface EvalText {
  text: string;
  maxTokens?: number;
}

export async function evalText(name: string, read: TextReader, seqlen: number): Promise<EvalText> {
  const ds = checkDatasetName(name);
  switch (ds) {
    case 'wikitext2':
      return { text: wikitextJoin(await read(DATA_FILES.wikitext2)) };
    case 'ptb':
      return { text: lines(await read(DATA_FILES.ptbValid)).join('\n\n') };
    case 'ptb-new':
      return { text: lines(await read(DATA_FILES.ptbTest)).join(' ') };
    case 'c4':
      return { text: c4Documents(await read(DATA_FILES.c4), 0, 1100).join(' '), maxTokens: 256 * seqlen };
    case 'tinystories':
      return { text: tinyStoriesSplit(await read(DATA_FILES.tinystories)).eval };
    case 'tinystories-file':
      return { text: await read(DATA_FILES.tinystories) };
  }
}

/** HF's wikitext-2-raw test rows: whitespace-only lines become "", others keep their newline; rows joined by "\n\n". */
export function wikitextJoin(raw: string): string {
  const rows = raw.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();
  return rows.map((l) => (l.trim() === '' ? '' : `${l}\n`)).join('\n\n');
}

function lines(raw: string): string[] {
  const rows = raw.split('\n').map((l) => l.trim());
  if (rows[rows.length - 1] === '') rows.pop();
  return rows;
}

export function c4Documents(jsonl: string, begin: number, end: number): string[] {
  const docs = jsonl.split('\n').filter((l) => l.trim() !== '');
  return docs.slice(begin, end).map((l, i) => {
    try {
      return String(JSON.parse(l).text);
    } catch {
      throw new DatasetError(`c4 sample: line ${begin + i + 1} is not a JSON document`);
    }
  });
}

/** Stories split on blank lines; the first 90% calibrate, the last 10% (from floor(0.9·n)) evaluate. */
export function tinyStoriesSplit(raw: string): { calib: string; eval: string } {
  const stories = raw
    .split('\n\n')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const cut = Math.floor(0.9 * stories.length);
  return { calib: stories.slice(0, cut).join('\n\n'), eval: stories.slice(cut).join('\n\n') };
}
