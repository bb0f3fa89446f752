// Taking a finished run home, from the blocks it left in the cache (quantizeModel saves each one with its grid):
//   gptq    the GPTQ checkpoint format (v1) that transformers, AutoGPTQ/GPTQModel and vLLM load: packed codes, zero
//           points, f16 scales and g_idx per decoder linear; everything else F16 (weight-only RTN and GPTQ runs);
//   fake    a plain checkpoint of the same architecture whose linear weights are the dequantized values, in the run's
//           weight storage (F16 for F16 checkpoints; an F32 one run in f32 stays F32), every other tensor as stored:
//           exactly the weights the run evaluated (any method whose transform folds into the weights; what it cannot
//           express, such as activation quantizers, is said in its metadata);
//   bundle  the lab's own: the recipe, the result figures, per-block reports and the quantized weights, so a bundle
//           dropped on the page restores the run's views without recomputing (bundle.ts reads it back).
// Files stream to a FolderSink one tensor at a time.
import { LabError } from '../errors.ts';
import { f32ToF16, toHalfBits } from '../gpu/half.ts';
import {
  checkpointModules,
  familyOf,
  linearName,
  linearRoles,
  linearShapes,
  type LinearRole,
} from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import { gptqShapes, unpackableWidth } from '../model/gptqCheckpoint.ts';
import { GPTQ_BITS, packQweight, packQzeros, zeroPointsV1CannotStore } from '../model/gptqPacking.ts';
import { loadModel } from '../model/load.ts';
import type { Checkpoint } from '../model/safetensors.ts';
import { writeFile, writeSafetensors, type FolderSink, type TensorPlan } from '../model/safetensorsWriter.ts';
import { readJson, type ModelSource } from '../model/source.ts';
import type { HostBlock } from '../model/weights.ts';
import type { LayerGrid } from '../quant/method.ts';
import { gridCodes } from '../quant/grid.ts';
import { recipeLabel, resolveSteps, type QuantRecipe } from '../quant/recipe.ts';
import type { LabCache } from './cache.ts';
import type { CachedBlock } from './quantizeModel.ts';
import type { EvalResult } from './types.ts';
import { bundleJson, BUNDLE_FILE, BUNDLE_WEIGHTS } from './bundle.ts';

export const SAVE_FORMATS = ['gptq', 'fake', 'bundle'] as const;
export type SaveFormat = (typeof SAVE_FORMATS)[number];

export interface ExportContext {
  source: ModelSource;
  cache: LabCache;
  sink: FolderSink;
  /** per file: tensors written so far of the file's total */
  onProgress?: (p: { file: string; done: number; total: number }) => void;
}

export interface ExportReport {
  format: SaveFormat;
  files: { name: string; bytes: number }[];
  /** what the export rounded or left out, said in the files' metadata too */
  notes: string[];
}

/** The files a tokenizer may come in; the ones the source has are copied. */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'generation_config.json',
];

/** Why a finished run cannot be written in a format (null: it can): checked before a file is opened. */
export function exportRefusal(format: SaveFormat, result: EvalResult, cfg?: ModelConfig): string | null {
  const r = result.config.recipe;
  if (r && r.steps.length && !result.quant?.blockKey)
    return (
      "this run kept no quantized blocks to write (the browser's storage was full when it ran?): " +
      'run it again with space to spare'
    );
  return recipeRefusal(format, r, cfg);
}

/** The formats a recipe's run can be written in (what a refusal offers instead: never one that is refused too). */
export function possibleFormats(r: QuantRecipe | undefined, cfg?: ModelConfig): SaveFormat[] {
  return SAVE_FORMATS.filter((f) => recipeRefusal(f, r, cfg) === null);
}

/** Why a recipe's run could not be written in a format, known before it runs (the CLI's --save checks this first). */
export function recipeRefusal(format: SaveFormat, r: QuantRecipe | undefined, cfg?: ModelConfig): string | null {
  if (!r || r.steps.length === 0)
    return 'a full-precision run has nothing quantized to export; the model itself is the checkpoint';
  if (format === 'bundle') return null;
  const { transform, weight } = resolveSteps(r);
  if (format === 'fake') {
    if (transform && !transform.method.unfold)
      return `${transform.method.title}'s online rotations cannot be written as a plain checkpoint`;
    return null;
  }
  if (transform)
    return (
      'the gptq format stores weight-only RTN and GPTQ runs; ' + `${transform.method.title} changes the activation path`
    );
  if (!weight || !weight.method.uniformGrid)
    return (
      'the gptq format stores a uniform grid per group; ' +
      `${weight?.method.title ?? 'this method'} does not quantize on one`
    );
  const bits = weight.codeBits();
  if (!(GPTQ_BITS as readonly number[]).includes(bits))
    return `the gptq format packs ${GPTQ_BITS.join(', ')} bits, not ${bits}`;
  if (cfg) {
    // a fused module (Phi-3's qkv_proj) is packed as one layer: its outputs are its layers' outputs together
    const shapes = linearShapes(cfg);
    for (const { module, roles } of checkpointModules(cfg)) {
      const [N, K] = [roles.reduce((n, r) => n + shapes[r]![0], 0), shapes[roles[0]]![1]];
      const why = unpackableWidth(N, K, bits, roles.length > 1 ? module.split('.').pop()! : linearName(cfg, roles[0]));
      if (why) return why;
    }
  }
  return null;
}

/** A fused module's weights from its layers' rows, one after another (a single layer as it is). */
function concatRows(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0];
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) (out.set(p, at), (at += p.length));
  return out;
}

/** A checkpoint tensor as F16 (what the GPTQ format stores outside the quantized layers). */
function asF16(ckpt: Checkpoint, name: string): TensorPlan {
  const info = ckpt.info(name)!;
  if (info.dtype === 'F16') return asStored(ckpt, name);
  return { name, dtype: 'F16', shape: info.shape, data: async () => toHalfBits(await ckpt.readF32(name), 'f16') };
}

/** A checkpoint tensor as stored (the fake format keeps what was not quantized bit for bit). */
function asStored(ckpt: Checkpoint, name: string): TensorPlan {
  const info = ckpt.info(name)!;
  return {
    name,
    dtype: info.dtype,
    shape: info.shape,
    data: async () => new Uint8Array((await ckpt.readRaw(name)).bytes),
  };
}

/**
 * The dtype of the run's weight storage: the fake checkpoint and the bundle hold exactly the weights the run evaluated.
 */
function storageDtype(storage: string | undefined): 'F32' | 'F16' | 'BF16' {
  return storage === 'bf16' ? 'BF16' : storage === 'f32' ? 'F32' : 'F16';
}

function inStorage(W: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): ArrayBufferView {
  return dtype === 'F32' ? W : toHalfBits(W, dtype === 'BF16' ? 'bf16' : 'f16');
}

/** Exports a finished run (its result and the blocks it cached) in a format. */
export async function exportRun(format: SaveFormat, result: EvalResult, ctx: ExportContext): Promise<ExportReport> {
  const model = await loadModel(ctx.source);
  const r = result.config.recipe as QuantRecipe;
  const cfg: ModelConfig = r?.hiddenLayerNum ? { ...model.config, layers: r.hiddenLayerNum } : model.config;
  const refusal = exportRefusal(format, result, cfg);
  if (refusal) throw new LabError(`cannot export as ${format}: ${refusal}`);
  const blockKey = result.quant!.blockKey!;
  const block = async (layer: number): Promise<CachedBlock> => {
    const b = await ctx.cache.get<CachedBlock>(blockKey + layer);
    if (!b)
      throw new LabError(`block ${layer} of this run is no longer in the cache (cleared?); run it again to export`);
    return b;
  };
  const report: ExportReport = { format, files: [], notes: [] };
  const written = async (name: string, bytes: number) => void report.files.push({ name, bytes });
  const progress = (file: string) => (done: number, total: number) => ctx.onProgress?.({ file, done, total });

  if (format === 'bundle') {
    // the weights a block at a time (read from the cache when the writer reaches them), then every block's reports
    const roles = linearRoles(cfg.family);
    const dtype = storageDtype(result.config.weights);
    const shapes = linearShapes(cfg);
    let current: { layer: number; block: CachedBlock } | null = null;
    const linear = async (i: number, role: LinearRole) => {
      if (current?.layer !== i) current = { layer: i, block: await block(i) };
      return inStorage(current.block.host.linears[role]!.W, dtype);
    };
    const plans: TensorPlan[] = Array.from({ length: cfg.layers }, (_, i) =>
      roles.map(
        (role) =>
          ({ name: `blocks.${i}.${role}`, dtype, shape: shapes[role]!, data: () => linear(i, role) }) as TensorPlan,
      ),
    ).flat();
    await written(
      BUNDLE_WEIGHTS,
      await writeSafetensors(
        await ctx.sink.file(BUNDLE_WEIGHTS),
        plans,
        { format: 'quantlab-bundle' },
        progress(BUNDLE_WEIGHTS),
      ),
    );
    const reports: Omit<CachedBlock, 'host'>[] = [];
    for (let i = 0; i < cfg.layers; i++) {
      const { host: _host, ...rest } = await block(i);
      reports.push(rest);
    }
    const json = bundleJson(result, reports);
    await writeFile(ctx.sink, BUNDLE_FILE, json);
    await written(BUNDLE_FILE, new TextEncoder().encode(json).length);
    return report;
  }

  const ckpt = model.checkpoint;
  const prefix = familyOf(cfg).names.layerPrefix;
  // the checkpoint's modules, each written whole again: a fused one (Phi-3's qkv_proj) from its layers' rows
  const modules = checkpointModules(cfg);
  const shapes = linearShapes(cfg);
  const rowsOf = (roles: readonly LinearRole[]) => roles.reduce((n, r) => n + shapes[r]![0], 0);
  // the checkpoint's linear weights are replaced (a GPTQ checkpoint quantized again: its packed tensors too)
  const quantized = new Set<string>();
  for (let i = 0; i < cfg.layers; i++)
    for (const { module } of modules)
      for (const t of ['weight', 'qweight', 'qzeros', 'scales', 'g_idx']) quantized.add(`${prefix(i)}.${module}.${t}`);
  // blocks past --hidden_layer_num are not part of the run's model
  const kept = (n: string) => {
    const m = /\.layers\.(\d+)\./.exec(n);
    return !m || Number(m[1]) < cfg.layers;
  };
  const plans: TensorPlan[] = [];
  for (const n of ckpt.names())
    if (kept(n) && !quantized.has(n)) plans.push(format === 'gptq' ? asF16(ckpt, n) : asStored(ckpt, n));
  const { transform, weight } = resolveSteps(r);
  let quantConfig: Record<string, unknown> | undefined;
  let afterWrite: (() => void) | undefined;
  const metadata: Record<string, string> = { format: 'pt' };

  // one block's quantized linears, read once for all the tensors made from them
  let current: { layer: number; linears: HostBlock['linears']; grids: Record<string, LayerGrid> } | null = null;
  const linearsOf = async (layer: number) => {
    if (current?.layer !== layer) {
      const b = await block(layer);
      const linears =
        transform && b.transform ? transform.method.unfold!(b.host.linears, b.transform.fold, cfg) : b.host.linears;
      current = { layer, linears, grids: b.grids ?? {} };
    }
    return current;
  };

  if (format === 'fake') {
    const dtype = storageDtype(result.config.weights);
    for (let i = 0; i < cfg.layers; i++)
      for (const { module, roles } of modules) {
        const name = `${prefix(i)}.${module}.weight`;
        plans.push({
          name,
          dtype,
          shape: ckpt.info(name)?.shape ?? [rowsOf(roles), shapes[roles[0]]![1]],
          data: async () => {
            const c = await linearsOf(i);
            return inStorage(concatRows(roles.map((r) => c.linears[r]!.W)), dtype);
          },
        });
      }
    const leftOut: string[] = [];
    if (r.steps.length && result.config.abits < 16)
      leftOut.push(
        'activation quantization ' +
          `(A${result.config.abits}${transform ? `, ${transform.method.title}'s quantizers` : ''}): ` +
          `the checkpoint evaluates W${result.config.wbits}A16`,
      );
    metadata.quantlab = JSON.stringify({
      recipe: recipeLabel(r),
      weights:
        'fake-quantized: the dequantized values the run evaluated, ' +
        `in its ${result.config.weights ?? 'f16'} storage`,
      leftOut,
    });
    report.notes.push(...leftOut.map((l) => `left out: ${l}`));
  } else {
    const o = weight!.options as {
      wbits: number;
      groupsize: number;
      sym: boolean;
      actOrder?: boolean;
      staticGroups?: boolean;
      trueSequential?: boolean;
      percdamp?: number;
    };
    const bits = o.wbits;
    let zeroZeros = 0;
    for (let i = 0; i < cfg.layers; i++)
      for (const { module, roles } of modules) {
        const base = `${prefix(i)}.${module}`;
        const [N, K] = [rowsOf(roles), shapes[roles[0]]![1]];
        const s = gptqShapes({ bits, groupSize: o.groupsize }, N, K);
        // the grid's tensors in the checkpoint's layout ([groups, N]); a grouped layer's g_idx may come from act-order.
        // A fused module's layers are packed as one: their codes, scales and zeros one after another along the
        // outputs, with the one g_idx they share (their columns are grouped by the same Hessian)
        const pack = async () => {
          const c = await linearsOf(i);
          const grids = roles.map((role) => {
            const lname = linearName(cfg, role);
            const grid = c.grids[lname];
            if (!grid)
              throw new LabError(
                `block ${i} ${lname} was cached without its grid (a run from before export existed); ` +
                  'clear the cache and run again',
              );
            return grid;
          });
          const gIdx = grids[0].gIdx;
          if (grids.some((g) => g.gIdx.some((x, k) => x !== gIdx[k])))
            throw new LabError(
              `block ${i} ${module}: its layers' column groups differ, so they cannot share one g_idx`,
            );
          const G = grids[0].params.length / (2 * shapes[roles[0]]![0]);
          const scales = new Uint16Array(G * N);
          const zeros = new Uint16Array(G * N);
          const codes = new Uint8Array(N * K);
          let n0 = 0;
          for (const [j, role] of roles.entries()) {
            const Nr = shapes[role]![0];
            codes.set(gridCodes(c.linears[role]!.W, grids[j], Nr, K), n0 * K);
            for (let n = 0; n < Nr; n++)
              for (let g = 0; g < G; g++) {
                scales[g * N + n0 + n] = f32ToF16(grids[j].params[(n * G + g) * 2]);
                zeros[g * N + n0 + n] = grids[j].params[(n * G + g) * 2 + 1];
              }
            n0 += Nr;
          }
          return { gIdx, G, scales, zeros, codes };
        };
        // the module's four tensors are written one after another: packed once, let go after the last
        let memo: ReturnType<typeof pack> | null = null;
        const packed = () => (memo ??= pack());
        plans.push(
          {
            name: `${base}.qweight`,
            dtype: 'I32',
            shape: s.qweight,
            data: async () => packQweight((await packed()).codes, N, K, bits),
          },
          {
            name: `${base}.qzeros`,
            dtype: 'I32',
            shape: s.qzeros,
            data: async () => {
              const { G, zeros } = await packed();
              zeroZeros += zeroPointsV1CannotStore(zeros);
              return packQzeros(zeros, G, N, bits);
            },
          },
          { name: `${base}.scales`, dtype: 'F16', shape: s.scales, data: async () => (await packed()).scales },
          {
            name: `${base}.g_idx`,
            dtype: 'I32',
            shape: s.gIdx,
            data: async () => {
              const { gIdx } = await packed();
              memo = null;
              return gIdx;
            },
          },
        );
      }
    quantConfig = {
      bits,
      group_size: o.groupsize,
      desc_act: !!o.actOrder,
      sym: o.sym,
      static_groups: !!o.staticGroups,
      true_sequential: !!o.trueSequential,
      damp_percent: o.percdamp ?? 0,
      quant_method: 'gptq',
      checkpoint_format: 'gptq',
      model_file_base_name: 'model',
      model_name_or_path: null,
    };
    if (!r.scales16)
      report.notes.push(
        'scales rounded to f16 on export: the run evaluated f32 scales ' +
          '(--f16_scales evaluates exactly what this checkpoint loads as)',
      );
    // counted as the zero points are packed, said once they are
    afterWrite = () => {
      if (zeroZeros)
        report.notes.push(
          `${zeroZeros} groups have zero point 0, which GPTQ v1 stores as −1 and loaders read back ` +
            `as ${2 ** bits} (gptq_v2 fixed this)`,
        );
    };
  }
  const file = 'model.safetensors';
  await written(file, await writeSafetensors(await ctx.sink.file(file), plans, metadata, progress(file)));
  afterWrite?.();
  await writeConfigs(ctx, cfg, quantConfig, written);
  return report;
}

/**
 * config.json (with the run's block count, F16, and the quantization settings), quantize_config.json, tokenizer files.
 */
async function writeConfigs(
  ctx: ExportContext,
  cfg: ModelConfig,
  quantConfig: Record<string, unknown> | undefined,
  written: (name: string, bytes: number) => Promise<void>,
): Promise<void> {
  const raw = (await readJson(ctx.source, 'config.json'))!;
  const config: Record<string, unknown> = {
    ...raw,
    num_hidden_layers: cfg.layers,
    ...(quantConfig ? { torch_dtype: 'float16' } : {}),
  };
  delete config.quantization_config;
  if (quantConfig) config.quantization_config = quantConfig;
  const put = async (name: string, text: string | Uint8Array) => {
    await writeFile(ctx.sink, name, text);
    await written(name, typeof text === 'string' ? new TextEncoder().encode(text).length : text.length);
  };
  await put('config.json', JSON.stringify(config, null, 2));
  if (quantConfig) await put('quantize_config.json', JSON.stringify(quantConfig, null, 2));
  for (const f of TOKENIZER_FILES) {
    const src = await ctx.source.open(f);
    if (src) await put(f, new Uint8Array(await src.read(0, src.size)));
  }
}
