// Safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}}, then
// the raw bytes. Tensors are read lazily by byte range, so one block can be loaded without the rest of the file.
// Sharded checkpoints list their shards in model.safetensors.index.json.
import { SafetensorsError } from '../errors.ts';
import type { ByteSource } from './source.ts';
import { f16ToF32, fromHalfBits } from '../gpu/half.ts';

/** I32: a GPTQ checkpoint's packed codes, zero points and group indices */
export type DType = 'F32' | 'F16' | 'BF16' | 'I32';

export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2, I32: 4 };
/** A header this large is not a safetensors header: refuse before allocating it. */
const MAX_HEADER = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: DType;
  shape: number[];
  /** absolute byte range in the file */
  begin: number;
  end: number;
  file: string;
}

export class SafetensorsFile {
  private constructor(
    readonly file: string,
    private readonly source: ByteSource,
    readonly tensors: Map<string, TensorInfo>,
  ) {}

  static async open(file: string, source: ByteSource): Promise<SafetensorsFile> {
    const size = source.size;
    if (size < 8) throw new SafetensorsError(`${file}: ${size} bytes is too short for a safetensors header`);
    const lenBytes = new DataView(await source.read(0, 8));
    const n = Number(lenBytes.getBigUint64(0, true));
    if (n > MAX_HEADER)
      throw new SafetensorsError(`${file}: header length ${n} is larger than the ${MAX_HEADER}-byte limit`);
    if (8 + n > size)
      throw new SafetensorsError(`${file}: header length ${n} runs past the end of the ${size}-byte file (truncated?)`);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(await source.read(8, 8 + n)));
    } catch (e) {
      throw new SafetensorsError(`${file}: the header is not valid JSON (${(e as Error).message})`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header))
      throw new SafetensorsError(`${file}: the header is not a JSON object`);
    const dataStart = 8 + n;
    const tensors = new Map<string, TensorInfo>();
    for (const [name, raw] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof t.dtype !== 'string' || !(t.dtype in DTYPE_BYTES)) {
        throw new SafetensorsError(
          `${file}: tensor "${name}" has dtype ${JSON.stringify(t.dtype)}; the lab reads F32, F16, BF16 ` +
            '(and I32 in GPTQ checkpoints)',
        );
      }
      const shape = t.shape;
      const offs = t.data_offsets;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
        throw new SafetensorsError(`${file}: tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
      }
      if (
        !Array.isArray(offs) ||
        offs.length !== 2 ||
        !offs.every((d) => Number.isInteger(d) && d >= 0) ||
        offs[1] < offs[0]
      ) {
        throw new SafetensorsError(`${file}: tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
      }
      const dtype = t.dtype as DType;
      const bytes = shape.reduce((a: number, b: number) => a * b, 1) * DTYPE_BYTES[dtype];
      if (offs[1] - offs[0] !== bytes) {
        throw new SafetensorsError(
          `${file}: tensor "${name}" [${shape}] ${dtype} needs ${bytes} bytes but data_offsets ` +
            `span ${offs[1] - offs[0]}`,
        );
      }
      const begin = dataStart + offs[0];
      const end = dataStart + offs[1];
      if (end > size) {
        throw new SafetensorsError(
          `${file}: tensor "${name}" ends at byte ${end}, past the end of the ${size}-byte file (truncated?)`,
        );
      }
      tensors.set(name, { name, dtype, shape, begin, end, file });
    }
    return new SafetensorsFile(file, source, tensors);
  }

  /** The stored bytes of a tensor's elements [e0, e1): F16/BF16 go to the GPU as they are, never widened. */
  async readRaw(name: string, e0 = 0, e1?: number): Promise<{ bytes: ArrayBuffer; dtype: DType }> {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.file}: no tensor "${name}"`);
    const b = DTYPE_BYTES[t.dtype];
    return {
      bytes: await this.source.read(t.begin + e0 * b, e1 === undefined ? t.end : t.begin + e1 * b),
      dtype: t.dtype,
    };
  }

  /** Reads a tensor (or its elements [e0, e1) in storage order) and widens it to f32 (F16 and BF16 exactly). */
  async readF32(name: string, e0 = 0, e1?: number): Promise<Float32Array> {
    const t = this.tensors.get(name);
    if (!t) throw new SafetensorsError(`${this.file}: no tensor "${name}"`);
    const b = DTYPE_BYTES[t.dtype];
    const buf = await this.source.read(t.begin + e0 * b, e1 === undefined ? t.end : t.begin + e1 * b);
    return toF32(buf, t.dtype);
  }
}

export function toF32(buf: ArrayBuffer, dtype: DType): Float32Array {
  if (dtype === 'I32') throw new SafetensorsError('an I32 tensor holds integers (packed codes), not weights to widen');
  if (dtype === 'F32') return new Float32Array(buf.byteLength % 4 === 0 ? buf : buf.slice(0));
  return fromHalfBits(new Uint16Array(buf), dtype === 'BF16' ? 'bf16' : 'f16');
}

export { f16ToF32 };

/** All tensors of a checkpoint, single-file or sharded, behind one lookup. */
export class Checkpoint {
  constructor(
    private readonly shards: Map<string, SafetensorsFile>,
    private readonly index: Map<string, string>,
  ) {}

  static async open(open: (file: string) => Promise<ByteSource | null>): Promise<Checkpoint> {
    const shards = new Map<string, SafetensorsFile>();
    const index = new Map<string, string>();
    // the single file first: most small models have one, and asking for an index they lack logs a 404 every load
    const single = await open('model.safetensors');
    const indexSrc = single ? null : await open('model.safetensors.index.json');
    if (indexSrc) {
      let weightMap: Record<string, string>;
      try {
        weightMap = JSON.parse(new TextDecoder().decode(await indexSrc.read(0, indexSrc.size))).weight_map;
      } catch (e) {
        throw new SafetensorsError(`model.safetensors.index.json is not valid JSON (${(e as Error).message})`);
      }
      if (!weightMap || typeof weightMap !== 'object')
        throw new SafetensorsError('model.safetensors.index.json has no weight_map');
      for (const file of new Set(Object.values(weightMap))) {
        const src = await open(file);
        if (!src) throw new SafetensorsError(`shard ${file} named in model.safetensors.index.json is missing`);
        shards.set(file, await SafetensorsFile.open(file, src));
      }
      for (const [name, file] of Object.entries(weightMap)) index.set(name, file);
    } else {
      if (!single) throw new SafetensorsError('no model.safetensors or model.safetensors.index.json');
      const f = await SafetensorsFile.open('model.safetensors', single);
      shards.set('model.safetensors', f);
      for (const name of f.tensors.keys()) index.set(name, 'model.safetensors');
    }
    return new Checkpoint(shards, index);
  }

  info(name: string): TensorInfo | undefined {
    const file = this.index.get(name);
    return file ? this.shards.get(file)?.tensors.get(name) : undefined;
  }

  has(name: string): boolean {
    return this.info(name) !== undefined;
  }

  names(): string[] {
    return [...this.index.keys()];
  }

  /** Bytes on disk of all tensors. */
  get bytes(): number {
    let n = 0;
    for (const f of this.shards.values()) for (const t of f.tensors.values()) n += t.end - t.begin;
    return n;
  }

  async readF32(name: string): Promise<Float32Array> {
    const file = this.index.get(name);
    if (!file) throw new SafetensorsError(`no tensor "${name}" in the checkpoint`);
    return this.shards.get(file)!.readF32(name);
  }

  /** A tensor's stored bytes (rows [r0, r1) of a 2-D one when given), not widened. */
  async readRaw(name: string, r0?: number, r1?: number): Promise<{ bytes: ArrayBuffer; dtype: DType }> {
    const info = this.info(name);
    if (!info) throw new SafetensorsError(`no tensor "${name}" in the checkpoint`);
    const C = info.shape.slice(1).reduce((a, b) => a * b, 1);
    return this.shards
      .get(info.file)!
      .readRaw(name, r0 === undefined ? 0 : r0 * C, r1 === undefined ? undefined : r1 * C);
  }

  /** An I32 tensor's words as unsigned (packed GPTQ codes and zero points; group indices). */
  async readU32(name: string): Promise<Uint32Array> {
    const info = this.info(name);
    if (!info) throw new SafetensorsError(`no tensor "${name}" in the checkpoint`);
    if (info.dtype !== 'I32')
      throw new SafetensorsError(`tensor "${name}" is ${info.dtype}; an I32 tensor was expected`);
    const { bytes } = await this.readRaw(name);
    return new Uint32Array(bytes.byteLength % 4 === 0 && bytes.byteLength > 0 ? bytes : bytes.slice(0));
  }

  /**
   * Rows [r0, r1) of a tensor (elements of a 1-D one), widened to f32: a vocabulary matrix is read a chunk at a time,
   * a fused projection a layer at a time.
   */
  async readRowsF32(name: string, r0: number, r1: number): Promise<Float32Array> {
    const info = this.info(name);
    if (!info) throw new SafetensorsError(`no tensor "${name}" in the checkpoint`);
    const C = info.shape.slice(1).reduce((a, b) => a * b, 1);
    return this.shards.get(info.file)!.readF32(name, r0 * C, r1 * C);
  }
}
