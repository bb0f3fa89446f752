// Before a download: what a model is and whether this device can run it. Reads config.json and the safetensors
// headers only (a few KiB by range), then checks every tensor the forward binds whole against the adapter's limits
// (the vocabulary matrices are bound in row chunks, so only their chunk count depends on the limit).
import { fmtBytes } from '../gpu/gpu.ts';
import { parseConfig, parameterCount, type ModelConfig } from '../model/config.ts';
import { gptqSettings, openCheckpoint } from '../model/load.ts';
import { readJson, type ModelSource } from '../model/source.ts';
import { MissingFileError } from '../errors.ts';
import { familyOf } from '../model/families.ts';
import type { PeakInputs } from './memory.ts';

export interface BindingLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

export interface ModelProbe {
  id: string;
  /** the parsed config: what the page validates a recipe against before Run */
  config: ModelConfig;
  modelType: string;
  layers: number;
  hidden: number;
  parameters: number;
  /** bytes of the checkpoint's tensors plus tokenizer.json */
  downloadBytes: number;
  dtypes: string[];
  /** f32 bytes of one decoder block on the GPU */
  blockBytes: number;
  /** the largest tensor one kernel binds whole, as f32 (embedding and lm_head come in row chunks) */
  largest: { name: string; bytes: number };
  /**
   * row chunks the embedding (and lm_head) take under this device's binding limit, in their storage (1 without limits)
   */
  vocabChunks: number;
  /** null when no adapter could be asked */
  limits: BindingLimits | null;
  /** what does not fit, each naming the limit and the shortfall; empty when everything fits */
  problems: string[];
  /** what predictPeak needs besides the run's settings (weights stored as `auto` does) */
  memory: Pick<PeakInputs, 'weightBytes' | 'vocabPart' | 'maxTensorBytes'>;
}

export async function probeModel(source: ModelSource, limits: BindingLimits | null): Promise<ModelProbe> {
  const raw = await readJson(source, 'config.json', false);
  if (!raw) throw new MissingFileError(`${source.id}: config.json not found — is this a Hugging Face model folder?`);
  const cfg = parseConfig(raw);
  const ckpt = await openCheckpoint(source, cfg);
  await gptqSettings(source, cfg, ckpt);
  const tokenizer = await source.open('tokenizer.json');
  const names = ckpt.names();
  const dtypes = [...new Set(names.map((n) => ckpt.info(n)!.dtype))];
  const f32 = (n: string) => ckpt.info(n)!.shape.reduce((a, b) => a * b, 1) * 4;
  const layer0 = names.filter((n) => /\.layers\.0\./.test(n));
  const arch = familyOf(cfg).names;
  const chunked = new Set([arch.embedTokens, arch.lmHead]);
  const whole = names.filter((n) => !chunked.has(n));
  const largest = whole
    .map((n) => ({ name: n, bytes: f32(n) }))
    .reduce((a, b) => (b.bytes > a.bytes ? b : a), { name: '', bytes: 0 });
  const problems: string[] = [];
  let vocabChunks = 1;
  if (limits) {
    const allowed = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
    const which =
      limits.maxStorageBufferBindingSize <= limits.maxBufferSize ? 'maxStorageBufferBindingSize' : 'maxBufferSize';
    for (const n of whole) {
      const b = f32(n);
      if (b > allowed)
        problems.push(
          `${n} needs ${fmtBytes(b)} in one binding as f32; this device allows ${fmtBytes(allowed)} ` +
            `(${which}), ${fmtBytes(b - allowed)} short`,
        );
    }
  }
  // the weights as WeightStore keeps them (auto): F16/BF16 matrices in 16 bits, norms, biases and F32 in f32; the
  // vocabulary in row chunks of one binding each; LLaMA's rope tables
  const maxTensorBytes = limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : 2 ** 31;
  const bytesPer = (n: string) => {
    const info = ckpt.info(n)!;
    return info.shape.length === 2 && info.dtype !== 'F32' ? 2 : 4;
  };
  const alloc = (elements: number, per: number) =>
    Math.max(16, Math.ceil((per === 2 ? Math.ceil(elements / 2) * 4 : elements * 4) / 16) * 16);
  const vocabPer = bytesPer(arch.embedTokens);
  const partRows = Math.min(cfg.vocab, Math.max(1, Math.floor(maxTensorBytes / (cfg.hidden * vocabPer))));
  if (limits) vocabChunks = Math.ceil(cfg.vocab / partRows);
  const vocabBytes = (name: string) => {
    let b = 0;
    for (let v0 = 0; v0 < cfg.vocab; v0 += partRows)
      b += alloc(Math.min(partRows, cfg.vocab - v0) * cfg.hidden, vocabPer);
    return b;
  };
  // a GPTQ checkpoint's packed layers live on the GPU dequantized, [out, in] in f16 (the packed tensors are transient)
  const resident = (n: string) => {
    const shape = ckpt.info(n)!.shape;
    if (!cfg.gptq || !/\.(qweight|qzeros|scales|g_idx)$/.test(n))
      return alloc(
        shape.reduce((a, b) => a * b, 1),
        bytesPer(n),
      );
    return n.endsWith('.qweight') ? alloc(((shape[0] * 32) / cfg.gptq.bits) * shape[1], 2) : 0;
  };
  let weightBytes = whole.reduce((s, n) => s + resident(n), 0);
  weightBytes += vocabBytes(arch.embedTokens) + (ckpt.has(arch.lmHead) ? vocabBytes(arch.lmHead) : 0);
  if (cfg.rope) weightBytes += 2 * alloc((cfg.maxPositions * cfg.headDim) / 2, 4);
  return {
    id: source.id,
    config: cfg,
    modelType: cfg.modelType,
    layers: cfg.layers,
    hidden: cfg.hidden,
    parameters: parameterCount(cfg),
    downloadBytes: ckpt.bytes + (tokenizer?.size ?? 0),
    dtypes,
    blockBytes: layer0.reduce((s, n) => s + f32(n), 0),
    largest,
    vocabChunks,
    limits,
    problems,
    memory: { weightBytes, vocabPart: { rows: partRows, bytesPerWeight: vocabPer }, maxTensorBytes },
  };
}
