// Test fixtures built from the real models: a local server answering the Hub's /{repo}/resolve/{revision}/{file}
// paths (with Range), and a safetensors writer for sharded / BF16 copies.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface LocalHub {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** repos: "org/name" → folder. Answers like the Hub: 206 for ranges, 404 + X-Error-Code: EntryNotFound. */
export async function startLocalHub(repos: Record<string, string>): Promise<LocalHub> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    requests.push(`${req.headers.range ?? ''} ${url}`);
    const m =
      /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.split('?')[0]) ??
      /^\/files\/([^/]+\/[^/]+)\/()(.+)$/.exec(url);
    const dir = m ? repos[m[1]] : undefined;
    const path = dir && m ? join(dir, m[3]) : '';
    if (!dir || !existsSync(path) || !statSync(path).isFile()) {
      res.writeHead(404, { 'X-Error-Code': dir ? 'EntryNotFound' : 'RepoNotFound' }).end('not found');
      return;
    }
    const body = readFileSync(path);
    // the Hub's resolve answers carry an ETag (the blob hash) and the commit; @huggingface/hub checks the former
    const tag = { ETag: `"${createHash('sha256').update(body).digest('hex')}"`, 'X-Repo-Commit': '0'.repeat(40) };
    const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (range) {
      const b = Number(range[1]);
      const e = range[2] ? Math.min(Number(range[2]), body.length - 1) : body.length - 1;
      res.writeHead(206, {
        ...tag,
        'Content-Range': `bytes ${b}-${e}/${body.length}`,
        'Content-Length': e - b + 1,
        'Accept-Ranges': 'bytes',
      });
      res.end(body.subarray(b, e + 1));
    } else {
      res.writeHead(200, { ...tag, 'Content-Length': body.length }).end(body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

export interface RawTensor {
  dtype: 'F32' | 'F16' | 'BF16';
  shape: number[];
  data: Uint8Array;
}

export function writeSafetensors(tensors: Record<string, RawTensor>): Buffer {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...Object.values(tensors).map((t) => Buffer.from(t.data))]);
}

export function readSafetensors(path: string): Record<string, RawTensor> {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString());
  const out: Record<string, RawTensor> = {};
  for (const [name, v] of Object.entries<any>(header)) {
    if (name === '__metadata__') continue;
    out[name] = {
      dtype: v.dtype,
      shape: v.shape,
      data: buf.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]),
    };
  }
  return out;
}
