// What a run keeps so that a reload resumes instead of recomputing: model bytes read from a remote source, tokenized
// calibration windows, each quantized block (weights, activation quantizers, its reports and statistics) and whole
// results. Keys name the model (source + a fingerprint of its config and tensor table) and a hash of everything the
// entry depends on. The page stores them in IndexedDB (idbCache.ts); Node and tests can use memoryCache.
import { LabError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Checkpoint } from '../model/safetensors.ts';
import type { QuantRecipe } from '../quant/recipe.ts';
import type { ModelSource } from '../model/source.ts';
import type { EvalRequest } from './types.ts';

export type CacheKind = 'bytes' | 'calib' | 'block' | 'result';

export interface CacheMeta {
  key: string;
  /** the model key the entry belongs to (what the storage panel groups and clears by) */
  model: string;
  kind: CacheKind;
  bytes: number;
  /** ms since the epoch */
  at: number;
}

export interface LabCache {
  get<T>(key: string): Promise<T | undefined>;
  /** stores value and its meta together, or neither; throws CacheFullError when storage is full */
  set(key: string, value: unknown, meta: Omit<CacheMeta, 'key' | 'at' | 'bytes'>): Promise<void>;
  entries(): Promise<CacheMeta[]>;
  /** deletes every entry (of one model when given); returns how many */
  clear(model?: string): Promise<number>;
}

/** The browser's storage quota is used up. Nothing already stored is touched. */
export class CacheFullError extends LabError {
  override name = 'CacheFullError';
}

/** Approximate bytes a value takes in storage: typed arrays exactly, the rest roughly. */
export function sizeOf(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (v instanceof ArrayBuffer) return v.byteLength;
  if (typeof v === 'string') return v.length * 2;
  if (typeof v !== 'object') return 8;
  let n = 0;
  for (const x of Array.isArray(v) ? v : Object.values(v)) n += sizeOf(x);
  return n + 16;
}

export function memoryCache(): LabCache {
  const values = new Map<string, unknown>();
  const metas = new Map<string, CacheMeta>();
  return {
    async get<T>(key: string) {
      return values.get(key) as T | undefined;
    },
    async set(key, value, meta) {
      values.set(key, value);
      metas.set(key, { ...meta, key, bytes: sizeOf(value), at: Date.now() });
    },
    async entries() {
      return [...metas.values()];
    },
    async clear(model) {
      let n = 0;
      for (const [k, m] of metas) {
        if (model !== undefined && m.model !== model) continue;
        metas.delete(k);
        values.delete(k);
        n++;
      }
      return n;
    },
  };
}

/** JSON with object keys sorted: two equal values have the same text whatever order their keys were set in. */
export function canonicalJson(v: unknown): string {
  const canonical = (x: unknown): unknown =>
    x && typeof x === 'object' && !Array.isArray(x) && !ArrayBuffer.isView(x)
      ? Object.fromEntries(
          Object.keys(x)
            .sort()
            .map((k) => [k, canonical((x as Record<string, unknown>)[k])]),
        )
      : Array.isArray(x)
        ? x.map(canonical)
        : x;
  return JSON.stringify(canonical(v)) ?? 'undefined';
}

/** Hex SHA-256 prefix of a value's canonical JSON (object keys sorted), for cache keys. */
export async function hashOf(v: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(v));
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(d.subarray(0, 12), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * A cache that never fails a run: a full store turns into one warning (and no more writes this run), a broken read
 * into a miss. What was stored before stays as it was.
 */
export function tolerantCache(cache: LabCache, warn: (message: string) => void): LabCache {
  let full = false;
  return {
    async get<T>(key: string) {
      try {
        return await cache.get<T>(key);
      } catch {
        return undefined;
      }
    },
    async set(key, value, meta) {
      if (full) return;
      try {
        await cache.set(key, value, meta);
      } catch (e) {
        full = true;
        warn(
          e instanceof CacheFullError
            ? `${e.message} This run goes on without caching; ` +
                'free space in the Storage panel to resume runs after a reload.'
            : `caching failed (${(e as Error).message}); this run goes on without caching.`,
        );
      }
    },
    entries: () => cache.entries(),
    clear: (model) => cache.clear(model),
  };
}

/** A model's cache identity: where it came from plus its parsed config and tensor table. */
export async function modelKeyOf(sourceId: string, config: ModelConfig, ckpt: Checkpoint): Promise<string> {
  const tensors = ckpt
    .names()
    .sort()
    .map((n) => {
      const t = ckpt.info(n)!;
      return [n, t.dtype, t.shape, t.file, t.begin, t.end];
    });
  return `${sourceId}#${await hashOf({ config, tensors })}`;
}

/** Hex SHA-256 prefix of a text's UTF-8 bytes: what names a calibration or evaluation text in cache keys. */
export async function textDigest(text: string): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(d.subarray(0, 12), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Digests of the texts a run reads: what names them in its cache keys. */
export interface TextDigests {
  eval: Record<string, string>;
  calib?: string;
  tasks?: Record<string, string>;
}

/**
 * Every field of a request, and whether a run's figures depend on it: the cache keys hash exactly the fields that
 * do, so a field added to EvalRequest must be classified here before the code compiles.
 */
const AFFECTS_FIGURES: Record<keyof EvalRequest, boolean> = {
  datasets: true,
  seqlen: true,
  skipBefore: true,
  recipe: true,
  windows: true,
  checkFinite: false,
  maxResidentBytes: false,
  backend: true,
  baselines: true,
  tasks: true,
  limit: true,
  packing: false,
  weights: true,
  maxBindingBytes: true,
  generate: true,
};

/** The request's fields that figures depend on (of those a stage uses), with the defaults the run applies. */
function figureFields(req: EvalRequest, only?: readonly (keyof EvalRequest)[]): Partial<EvalRequest> {
  const resolved: EvalRequest = { ...req, backend: req.backend ?? 'webgpu', weights: req.weights ?? 'auto' };
  const keys = (Object.keys(AFFECTS_FIGURES) as (keyof EvalRequest)[]).filter(
    (k) => AFFECTS_FIGURES[k] && (!only || only.includes(k)),
  );
  return Object.fromEntries(keys.map((k) => [k, resolved[k]]));
}

/** A whole experiment's result: the model, the request's figure fields, the recipe it ran and the texts it read. */
export async function resultKey(
  modelKey: string,
  req: EvalRequest,
  recipe: QuantRecipe,
  texts: TextDigests | null,
): Promise<string> {
  return `result|${modelKey}|${await hashOf({ request: figureFields(req), recipe, texts })}`;
}

/** What a full-precision evaluation depends on: not the recipe, but the blocks it runs and the window it scores. */
const FP_FIELDS = [
  'datasets',
  'windows',
  'backend',
  'tasks',
  'limit',
  'weights',
  'maxBindingBytes',
  'generate',
] as const;

export async function fpKey(
  modelKey: string,
  req: EvalRequest,
  layers: number,
  seqlen: number,
  texts: TextDigests | null,
): Promise<string> {
  const request = figureFields(req, FP_FIELDS);
  const read = { eval: texts?.eval, tasks: texts?.tasks };
  return `fp|${modelKey}|${await hashOf({ request, layers, seqlen, texts: read })}`;
}

/**
 * Block i of a recipe's quantized model is `${prefix}${i}` (the layer count a run stops at does not matter). The
 * calibration text's digest is part of it: blocks calibrated on another text are other blocks.
 */
export async function blockKeyPrefix(modelKey: string, r: QuantRecipe, calibDigest: string): Promise<string> {
  return `block|${modelKey}|${await hashOf({ ...r, hiddenLayerNum: undefined, calibText: calibDigest })}|`;
}

/**
 * Remote bytes kept in the cache by (source, file, size, range): a reload reads tensors from there, not the network.
 */
export function cachedSource(source: ModelSource, cache: LabCache): ModelSource {
  return {
    id: source.id,
    remote: source.remote,
    async open(file) {
      const src = await source.open(file);
      if (!src || !file.endsWith('.safetensors')) return src;
      return {
        size: src.size,
        async read(b, e) {
          const key = `bytes|${source.id}|${file}|${src.size}|${b}|${e}`;
          const hit = await cache.get<ArrayBuffer>(key);
          if (hit) return hit;
          const buf = await src.read(b, e);
          await cache.set(key, buf, { model: source.id, kind: 'bytes' });
          return buf;
        },
      };
    },
  };
}
