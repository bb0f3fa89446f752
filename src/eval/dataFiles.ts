// Every text the lab reads (evaluation, calibration, later the zero-shot sets) passes through here and is checked
// for what it must be before it is tokenized: a web server's HTML page (a wrong folder URL answered with the
// single-page app's index.html), a wrong content type, a JSON-lines file that does not parse, or a file far from
// the known size of a named dataset is refused with the location and what came back. A wrong text never becomes a
// figure.
import { DatasetError } from '../errors.ts';

/** What a data source answered for one file. */
export interface FetchedText {
  text: string;
  /** where it came from, as the user would look for it: a path or a URL */
  location: string;
  /** the HTTP Content-Type, when there was one */
  contentType?: string | null;
}

/** Reads one file relative to the data folder (or an absolute URL), checked. */
export type TextReader = (relativePath: string) => Promise<string>;

/** The named datasets' files and their sizes in bytes (../shared/data). A copy far from this size is another file. */
export const KNOWN_FILES: Record<string, number> = {
  'wikitext-2-raw/wiki.test.raw': 1_290_590,
  'ptb/ptb.valid.txt': 399_782,
  'ptb/ptb.test.txt': 449_945,
  'c4/c4-validation-sample-2k.jsonl': 4_514_079,
  'tinystories/validation-subset.txt': 794_375,
  'tinyshakespeare/input.txt': 1_115_394,
};

/** How far a named file's size may drift (other line endings, a re-download) before it is taken for another file. */
const SIZE_SLACK = 2;

const HTML_START = /^\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]|<\?xml)/i;
const TEXT_TYPES = new RegExp(
  '^(text\\/(?!html)[\\w.+-]+|application\\/(octet-stream|json|x-ndjson|jsonl|x-jsonlines|jsonlines)' +
    '|binary\\/octet-stream)$',
  'i',
);

function byteLength(text: string): number {
  return new Blob([text]).size;
}

/** Refuses a text that is not what the data file `rel` must be; returns it unchanged otherwise. */
export function checkText(rel: string, f: FetchedText): string {
  const type = f.contentType?.split(';')[0].trim();
  if (type && !TEXT_TYPES.test(type)) {
    throw new DatasetError(
      `${f.location} answered with content type "${type}", not the text file ${rel}: check the data folder ` +
        `(is it the folder that holds ${rel}?)`,
    );
  }
  if (HTML_START.test(f.text.slice(0, 512))) {
    throw new DatasetError(
      `${f.location} is an HTML page, not the text file ${rel}: ` +
        'the server answered an unknown path with a web page; check the data folder',
    );
  }
  const known = KNOWN_FILES[rel];
  if (known !== undefined) {
    const n = byteLength(f.text);
    if (n * SIZE_SLACK < known || n > known * SIZE_SLACK) {
      throw new DatasetError(
        `${f.location} is ${n.toLocaleString('en')} bytes; ` +
          `the dataset's ${rel} is ${known.toLocaleString('en')} bytes: this is another file`,
      );
    }
  }
  if (rel.endsWith('.jsonl')) checkJsonLines(f.location, f.text);
  return f.text;
}

/** Every non-empty line must be a JSON object. */
export function checkJsonLines(location: string, text: string): void {
  let line = 0;
  for (const l of text.split('\n')) {
    line++;
    if (l.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new DatasetError(`${location} line ${line} is not JSON (${(e as Error).message.slice(0, 80)})`);
    }
    if (!v || typeof v !== 'object' || Array.isArray(v))
      throw new DatasetError(`${location} line ${line} is not a JSON object`);
  }
}

/** A reader over some way of fetching files, with every text checked. */
export function checkedReader(fetchText: (rel: string) => Promise<FetchedText>): TextReader {
  return async (rel) => checkText(rel, await fetchText(rel));
}

/** Files relative to a base URL (or absolute URLs), over fetch: the page's data folder and the CLI's --data_dir URL. */
export function httpReader(base: string, fetchFn: typeof fetch = (...a) => fetch(...a)): TextReader {
  const root = base === '' ? undefined : base.endsWith('/') ? base : `${base}/`;
  return checkedReader(async (rel) => {
    const url = new URL(rel, root).href;
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new DatasetError(`could not fetch ${url}: ${(e as Error).message} (is the server reachable?)`);
    }
    if (!res.ok)
      throw new DatasetError(
        `${url}: HTTP ${res.status}${res.status === 404 ? ` (no ${rel} in this data folder)` : ''}`,
      );
    return { text: await res.text(), location: url, contentType: res.headers.get('content-type') };
  });
}
