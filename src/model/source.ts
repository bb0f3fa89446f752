// Where a model's files come from. Every source answers the same two questions: does this file exist, and give me
// bytes [begin, end) of it. Reads are lazy, so a block's tensors can be fetched on their own (HTTP Range requests
// on the Hub and URLs, slices of File objects in the page, positioned reads from disk in Node).
import { downloadFile } from '@huggingface/hub';
import { LabError, MissingFileError, NetworkError } from '../errors.ts';

export interface ByteSource {
  readonly size: number;
  read(begin: number, end: number): Promise<ArrayBuffer>;
}

export interface ModelSource {
  /** what the user named: a folder, a URL, "hub:org/name@rev" */
  readonly id: string;
  /** null when the file does not exist at the source */
  open(file: string): Promise<ByteSource | null>;
  /** bytes come over the network (worth caching) */
  readonly remote?: boolean;
}

export type ProgressFn = (loadedBytes: number, file: string) => void;

export function blobSource(blob: Blob): ByteSource {
  return { size: blob.size, read: (b, e) => blob.slice(b, e).arrayBuffer() };
}

/** Counts every byte read through the source, for download progress. */
export function withProgress(source: ModelSource, onProgress: ProgressFn): ModelSource {
  let loaded = 0;
  return {
    id: source.id,
    remote: source.remote,
    async open(file) {
      const src = await source.open(file);
      if (!src) return null;
      return {
        size: src.size,
        async read(b, e) {
          const buf = await src.read(b, e);
          loaded += buf.byteLength;
          onProgress(loaded, file);
          return buf;
        },
      };
    },
  };
}

export async function readText(source: ModelSource, file: string): Promise<string | null> {
  const src = await source.open(file);
  if (!src) return null;
  return new TextDecoder().decode(await src.read(0, src.size));
}

export async function readJson(
  source: ModelSource,
  file: string,
  required = true,
): Promise<Record<string, unknown> | null> {
  const text = await readText(source, file);
  if (text === null) {
    if (required) throw new MissingFileError(`${source.id}: ${file} not found`);
    return null;
  }
  // a web server that answers every path with its app (or an error page) sends HTML: say so, not "unexpected '<'"
  if (/^\s*<(!doctype html|html|head|body)\b/i.test(text)) {
    throw new MissingFileError(
      `${source.id}: asking for ${file} returned an HTML page, not a JSON file; ` +
        "is this the folder that holds the model's files?",
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new MissingFileError(`${source.id}: ${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** Files picked or dropped in the page (a folder keeps its relative paths; we match on the base name). */
export function filesSource(files: File[], id = 'local files'): ModelSource {
  const byName = new Map(files.map((f) => [f.name, f]));
  return { id, open: async (file) => (byName.has(file) ? blobSource(byName.get(file)!) : null) };
}

/**
 * fetch rejects (rather than answering with a status) when the server cannot be reached at all: offline, DNS, CORS,
 * a refused connection. Say which URL that was, not just "Failed to fetch".
 */
async function reach<T>(url: string, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (
      e instanceof LabError ||
      !(e instanceof TypeError || /fetch|network|ECONNREFUSED|ENOTFOUND/i.test(String((e as Error)?.message)))
    )
      throw e;
    throw new NetworkError(
      `could not reach ${what} at ${url} (${(e as Error).message}): ` +
        `check the network connection${what.includes('Hub') ? ', or load the model from a local folder' : ''}`,
    );
  }
}

/** A base URL that serves the files (any static host with Range support). */
export function urlSource(baseUrl: string, fetchFn: typeof fetch = fetch): ModelSource {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return {
    id: baseUrl,
    remote: true,
    async open(file) {
      const url = new URL(file, base).href;
      const head = await reach(url, 'the model server', () => fetchFn(url, { headers: { Range: 'bytes=0-0' } }));
      if (head.status === 404) return null;
      if (!head.ok) throw new MissingFileError(`${url}: HTTP ${head.status}`);
      const range = head.headers.get('content-range');
      const size = range ? Number(range.split('/')[1]) : Number(head.headers.get('content-length'));
      await head.body?.cancel();
      if (!Number.isFinite(size)) throw new MissingFileError(`${url}: the server reported no size`);
      return {
        size,
        async read(b, e) {
          if (e <= b) return new ArrayBuffer(0);
          const res = await reach(url, 'the model server', () =>
            fetchFn(url, { headers: { Range: `bytes=${b}-${e - 1}` } }),
          );
          if (!res.ok) throw new MissingFileError(`${url}: HTTP ${res.status} for bytes ${b}-${e - 1}`);
          const buf = await res.arrayBuffer();
          // a server that ignores Range sends the whole file: cut our part out of it
          return res.status === 206 ? buf : buf.slice(b, e);
        },
      };
    },
  };
}

export const HUB_URL = 'https://huggingface.co';

/** A Hub repo through @huggingface/hub: downloadFile gives a lazy Blob whose slices are Range requests. */
export function hubSource(repo: string, revision = 'main', hubUrl = HUB_URL, accessToken?: string): ModelSource {
  return {
    id: `${repo}@${revision}`,
    remote: true,
    async open(file) {
      const url = `${hubUrl}/${repo}/resolve/${revision}/${file}`;
      const what = 'the Hugging Face Hub';
      const blob = await reach(url, what, () =>
        downloadFile({ repo, path: file, revision, hubUrl, accessToken, xet: false }),
      );
      if (!blob) return null;
      const src = blobSource(blob);
      return { size: src.size, read: (b, e) => reach(url, what, () => src.read(b, e)) };
    },
  };
}

/** "org/name" or "org/name@revision" — what the CLI and the page accept as a Hub id. */
export function parseHubId(spec: string): { repo: string; revision: string } | null {
  const m = /^([\w.-]+\/[\w.-]+)(?:@([\w./-]+))?$/.exec(spec);
  return m ? { repo: m[1], revision: m[2] ?? 'main' } : null;
}
