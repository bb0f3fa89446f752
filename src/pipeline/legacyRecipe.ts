// Share links of format version 1 carried a flat recipe (every method's fields side by side, `method` naming one of
// fp/rtn/gptq/rptq). They still open: the flat recipe is completed with v1's defaults, checked with v1's schema, and
// turned into today's recipe of steps — RPTQ with weights below 16 bits is RPTQ then GPTQ, as the reference runs it.
import { z } from 'zod';
import { makeRecipe, MAX_SEED, type QuantRecipe } from '../quant/recipe.ts';

const CLUSTERS = { R1: 32, R2: 4, R3: 4, R4: 32, R5: 32 };

/** Version 1's defaults (a field a v1 link left out took these). */
const V1_DEFAULTS = {
  method: 'fp',
  wbits: 16,
  groupsize: -1,
  sym: false,
  actOrder: false,
  staticGroups: false,
  trueSequential: false,
  percdamp: 0.01,
  blocksize: 128,
  nsamples: 128,
  seqlen: 2048,
  calib: 'c4',
  seed: 0,
  abits: 16,
  onlyQuantKv: false,
  clusters: CLUSTERS,
  kmeansRestarts: 10,
  clustering: 'kmeans',
};

const bits = z.number().int().min(2).max(16);
/** Version 1's schema, as it was (calibration sources as today's rule: named sets or public https URLs). */
export function v1RecipeSchema(calib: z.ZodType<string>) {
  return z.strictObject({
    method: z.enum(['fp', 'rtn', 'gptq', 'rptq']),
    wbits: bits,
    groupsize: z
      .number()
      .int()
      .min(-1)
      .max(1 << 20),
    sym: z.boolean(),
    actOrder: z.boolean(),
    staticGroups: z.boolean(),
    trueSequential: z.boolean(),
    percdamp: z.number().min(0).max(1),
    blocksize: z.number().int().min(1).max(128),
    nsamples: z.number().int().min(1).max(4096),
    seqlen: z
      .number()
      .int()
      .min(2)
      .max(1 << 17),
    calib,
    seed: z.number().int().min(0).max(MAX_SEED),
    hiddenLayerNum: z.number().int().min(1).optional(),
    abits: bits,
    onlyQuantKv: z.boolean(),
    clusters: z.strictObject({
      R1: z.number().int().min(1),
      R2: z.number().int().min(1),
      R3: z.number().int().min(1),
      R4: z.number().int().min(1),
      R5: z.number().int().min(1),
    }),
    kmeansRestarts: z.number().int().min(1).max(100),
    normBits: bits.optional(),
    probBits: bits.optional(),
    clustering: z.enum(['kmeans', 'contiguous', 'tensor']),
  });
}
export type V1Recipe = z.infer<ReturnType<typeof v1RecipeSchema>>;

/** A v1 recipe as it left the page: missing fields take v1's defaults. */
export function completeV1(r: Record<string, unknown>): Record<string, unknown> {
  return { ...V1_DEFAULTS, ...r, clusters: { ...CLUSTERS, ...(r.clusters as object | undefined) } };
}

/** A (checked) v1 flat recipe as a recipe of steps. */
export function fromV1(f: V1Recipe): QuantRecipe {
  const gptq = {
    method: 'gptq',
    wbits: f.wbits,
    groupsize: f.groupsize,
    sym: f.sym,
    actOrder: f.actOrder,
    staticGroups: f.staticGroups,
    trueSequential: f.trueSequential,
    percdamp: f.percdamp,
    blocksize: f.blocksize,
  };
  const steps = {
    fp: [],
    rtn: [{ method: 'rtn', wbits: f.wbits, groupsize: f.groupsize, sym: f.sym }],
    gptq: [gptq],
    rptq: [
      {
        method: 'rptq',
        abits: f.abits,
        onlyQuantKv: f.onlyQuantKv,
        ...f.clusters,
        kmeansRestarts: f.kmeansRestarts,
        ...(f.normBits !== undefined ? { normBits: f.normBits } : {}),
        ...(f.probBits !== undefined ? { probBits: f.probBits } : {}),
        clustering: f.clustering,
      },
      ...(f.wbits < 16 ? [gptq] : []),
    ],
  }[f.method];
  return makeRecipe({
    calib: f.calib,
    nsamples: f.nsamples,
    seqlen: f.seqlen,
    seed: f.seed,
    ...(f.hiddenLayerNum !== undefined ? { hiddenLayerNum: f.hiddenLayerNum } : {}),
    steps,
  });
}
