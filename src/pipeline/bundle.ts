// The lab's experiment bundle: a run's result (recipe, figures, per-layer reports) and each block's reports in one
// JSON file, the quantized weights beside it in safetensors. Reading one back puts its blocks in the cache under a
// key of their own (never one a run resumes from: they hold no norms) and returns the result pointing at them, so the
// Results row and the Inspect views come back without recomputing.
import { z } from 'zod';
import { LabError } from '../errors.ts';
import { familyOfModelType, linearRoles } from '../model/families.ts';
import { Checkpoint } from '../model/safetensors.ts';
import type { ModelSource } from '../model/source.ts';
import type { HostBlock } from '../model/weights.ts';
import { hashOf, type LabCache } from './cache.ts';
import type { CachedBlock } from './quantizeModel.ts';
import type { EvalResult } from './types.ts';

export const BUNDLE_FILE = 'quantlab-bundle.json';
export const BUNDLE_WEIGHTS = 'quantlab-weights.safetensors';
const VERSION = 1;

type TypedName = 'Float32Array' | 'Float64Array' | 'Uint32Array' | 'Int32Array' | 'Uint16Array' | 'Uint8Array';
const TYPED: Record<TypedName, { from(a: ArrayLike<number>): ArrayBufferView }> = {
  Float32Array,
  Float64Array,
  Uint32Array,
  Int32Array,
  Uint16Array,
  Uint8Array,
};

/** JSON with typed arrays kept as {$typed, data} (reports carry permutations and codebooks). */
function encode(v: unknown): unknown {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return { $typed: v.constructor.name, data: Array.from(v as unknown as ArrayLike<number>) };
  if (Array.isArray(v)) return v.map(encode);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
  return v;
}

function decode(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decode);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$typed === 'string' && Array.isArray(o.data)) {
      const T = TYPED[o.$typed as TypedName];
      if (!T) throw new LabError(`bundle: unknown array type "${o.$typed}"`);
      return T.from(o.data as number[]);
    }
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, decode(x)]));
  }
  return v;
}

/** A block's reports as the bundle keeps them (its weights go to the safetensors file). */
export type BlockReports = Omit<CachedBlock, 'host'>;

export function bundleJson(result: EvalResult, reports: BlockReports[]): string {
  const { warnings: _w, cached: _c, ...kept } = result;
  return JSON.stringify(encode({ format: 'quantlab-bundle', version: VERSION, result: kept, blocks: reports }));
}

const bundleSchema = z.object({
  format: z.literal('quantlab-bundle'),
  version: z.number().int(),
  result: z
    .object({
      model: z.string(),
      modelType: z.string(),
      ppl: z.record(z.string(), z.number()),
      config: z
        .object({
          wbits: z.number(),
          abits: z.number(),
          recipe: z
            .object({ steps: z.array(z.object({ method: z.string() }).loose()) })
            .loose()
            .optional(),
        })
        .loose(),
      quant: z
        .object({ layers: z.array(z.unknown()), blockKey: z.string().optional() })
        .loose()
        .optional(),
    })
    .loose(),
  blocks: z.array(z.object({ layers: z.array(z.unknown()) }).loose()),
});

/** Reads a bundle folder back: its blocks into the cache under their own key, and the result pointing at them. */
export async function importBundle(source: ModelSource, cache: LabCache): Promise<EvalResult> {
  const file = await source.open(BUNDLE_FILE);
  if (!file) throw new LabError(`${source.id}: no ${BUNDLE_FILE} — is this a folder the lab exported as a bundle?`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(await file.read(0, file.size)));
  } catch (e) {
    throw new LabError(`${BUNDLE_FILE} is not valid JSON (${(e as Error).message})`);
  }
  const parsed = bundleSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'file'}: ${i.message}`).join('; ');
    throw new LabError(`${BUNDLE_FILE} is not a lab bundle: ${issues}`);
  }
  if (parsed.data.version !== VERSION)
    throw new LabError(`${BUNDLE_FILE} is version ${parsed.data.version}; this lab reads version ${VERSION}`);
  const { result, blocks } = decode(raw) as { result: EvalResult; blocks: BlockReports[] };
  const weights = await Checkpoint.open((f) =>
    f === 'model.safetensors' ? source.open(BUNDLE_WEIGHTS) : Promise.resolve(null),
  );
  // the run's family as its config recorded it (bundles from before results kept it: the family of its model type)
  const family = result.modelConfig?.family ?? familyOfModelType(result.modelType).name;
  const key = `bundle|${await hashOf({ result: result.model, at: result.quant?.blockKey, ppl: result.ppl })}|`;
  for (const [i, b] of blocks.entries()) {
    const linears: HostBlock['linears'] = {};
    for (const role of linearRoles(family)) {
      const name = `blocks.${i}.${role}`;
      const info = weights.info(name);
      if (!info) throw new LabError(`${BUNDLE_WEIGHTS} has no tensor "${name}"`);
      linears[role] = { W: await weights.readF32(name), shape: info.shape as [number, number], b: null };
    }
    // only the linears: the Inspect views compare them with the checkpoint's; nothing resumes a run from this key
    await cache.set(key + i, { ...b, host: { linears } as HostBlock }, { model: result.model, kind: 'block' });
  }
  return { ...result, quant: result.quant ? { ...result.quant, blockKey: key } : undefined, cached: true };
}
