// Writing safetensors a tensor at a time: the header (every tensor's dtype, shape and byte range, known before any
// data) goes first, then each tensor's bytes as its producer makes them, so a whole model never sits in memory.
// Files go to a FolderSink: a folder on disk in Node, a folder the user picked in the page (File System Access API),
// or one download per file where the browser has no such API.
import { DTYPE_BYTES, type DType } from './safetensors.ts';

export interface FileSink {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
  /**
   * a write failed: discard what was written, where the sink can (a picked folder's file is never left half-written)
   */
  abort?(): Promise<void>;
}

export interface FolderSink {
  /** a new file (replacing one of the same name) */
  file(name: string): Promise<FileSink>;
}

/** One tensor to write: its bytes are produced only when the writer reaches it. */
export interface TensorPlan {
  name: string;
  dtype: DType;
  shape: number[];
  data(): Promise<ArrayBufferView>;
}

/** The 8-byte length and the JSON header, padded with spaces to a multiple of 8 (as the reference writer does). */
export function safetensorsHeader(
  tensors: readonly Pick<TensorPlan, 'name' | 'dtype' | 'shape'>[],
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const body = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(body.length), true);
  out.set(body, 8);
  return out;
}

/** Streams tensors into one file; each producer's bytes are checked against the size its header entry announced. */
export async function writeSafetensors(
  sink: FileSink,
  tensors: readonly TensorPlan[],
  metadata?: Record<string, string>,
  onTensor?: (done: number, total: number) => void,
): Promise<number> {
  const head = safetensorsHeader(tensors, metadata);
  let written = 0;
  try {
    await sink.write(head);
    written = head.length;
    for (const [i, t] of tensors.entries()) {
      const view = await t.data();
      const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (view.byteLength !== expected)
        throw new Error(
          `safetensors writer: "${t.name}" produced ${view.byteLength} bytes, its header says ${expected}`,
        );
      await sink.write(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
      written += view.byteLength;
      onTensor?.(i + 1, tensors.length);
    }
  } catch (e) {
    await sink.abort?.().catch(() => undefined);
    throw e;
  }
  await sink.close();
  return written;
}

/** A small file (JSON, a tokenizer) in one write. */
export async function writeFile(folder: FolderSink, name: string, data: Uint8Array | string): Promise<void> {
  const f = await folder.file(name);
  await f.write(typeof data === 'string' ? new TextEncoder().encode(data) : data);
  await f.close();
}
