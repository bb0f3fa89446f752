// Node's TextReader: files under a data folder, by default ../shared/data next to the project.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../errors.ts';
import type { TextReader } from './datasets.ts';

export const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../../shared/data', import.meta.url));
export const SHARED_MODELS_DIR = fileURLToPath(new URL('../../../shared/models', import.meta.url));

export function folderReader(dir = DEFAULT_DATA_DIR): TextReader {
  return async (rel) => {
    const path = join(dir, rel);
    if (!existsSync(path)) throw new DatasetError(`dataset file ${path} not found (set --data_dir to the folder holding ${rel})`);
    return readFile(path, 'utf8');
  };
}

/** A data "folder" given as a URL: files fetched relative to it. */
export function urlReader(base: string): TextReader {
  return async (rel) => {
    const res = await fetch(new URL(rel, base.endsWith('/') ? base : `${base}/`));
    if (!res.ok) throw new DatasetError(`dataset file ${rel} at ${base}: HTTP ${res.status}`);
    return res.text();
  };
}
