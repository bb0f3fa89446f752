// Node's TextReader: files under a data folder, by default ../shared/data next to the project; every text checked
// (dataFiles.ts) like the page's.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../errors.ts';
import { checkedReader, httpReader, type TextReader } from './dataFiles.ts';

export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../shared/data', import.meta.url));
export const SHARED_MODELS_DIR = fileURLToPath(new URL('../../../shared/models', import.meta.url));

export function folderReader(dir = DEFAULT_DATA_DIR): TextReader {
  return checkedReader(async (rel) => {
    const path = join(dir, rel);
    if (!existsSync(path))
      throw new DatasetError(`dataset file ${path} not found (set --data_dir to the folder holding ${rel})`);
    return { text: await readFile(path, 'utf8'), location: path };
  });
}

/** A data "folder" given as a URL: files fetched relative to it. */
export function urlReader(base: string): TextReader {
  return httpReader(base);
}

/** A text file named on the command line (--calib FILE.txt), relative to the working directory. */
export function localFileReader(): TextReader {
  return checkedReader(async (file) => {
    const path = resolve(file);
    if (!existsSync(path)) throw new DatasetError(`calibration file ${path} not found`);
    return { text: await readFile(path, 'utf8'), location: path };
  });
}
