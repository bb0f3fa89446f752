// `npm run synth -- --like opt-1.3b|opt-125m|tinyllama|llama3-8b|phi3-mini --out DIR [--layers N] [--seed S]`: a
// checkpoint with a real model's config and tensor shapes, random F16 weights (N(0, 0.02)-like, norms 1, biases 0)
// and a real tokenizer from ../shared, so memory and time per block can be measured at real widths without a
// download. The weights are written tensor by tensor, never the whole model in memory; the tensors are the family's
// own (Phi-3's fused qkv_proj and gate_up_proj included).
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { f32ToF16 } from '../gpu/half.ts';
import { parseConfig, type ModelConfig } from '../model/config.ts';
import { checkpointModules, familyOf, hasBias, linearShapes } from '../model/families.ts';
import { OptionsError } from '../errors.ts';

const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));

interface Shape {
  modelType: 'opt' | 'llama' | 'phi3';
  hidden: number;
  ffn: number;
  layers: number;
  heads: number;
  kvHeads?: number;
  vocab: number;
  positions: number;
  theta?: number;
  /** the tokenizer copied from ../shared/models (a real one of the right kind) */
  tokenizer: 'opt-tiny-bpe' | 'stories260K';
}

/** The real configs (Hugging Face config.json fields that the lab reads). */
export const SHAPES = {
  'opt-125m': { modelType: 'opt', hidden: 768, ffn: 3072, layers: 12, heads: 12, vocab: 50272, positions: 2048 },
  'opt-1.3b': { modelType: 'opt', hidden: 2048, ffn: 8192, layers: 24, heads: 32, vocab: 50272, positions: 2048 },
  tinyllama: {
    modelType: 'llama',
    hidden: 2048,
    ffn: 5632,
    layers: 22,
    heads: 32,
    kvHeads: 4,
    vocab: 32000,
    positions: 2048,
  },
  'llama3-8b': {
    modelType: 'llama',
    hidden: 4096,
    ffn: 14336,
    layers: 32,
    heads: 32,
    kvHeads: 8,
    vocab: 128256,
    positions: 8192,
  },
  'phi3-mini': {
    modelType: 'phi3',
    hidden: 3072,
    ffn: 8192,
    layers: 32,
    heads: 32,
    kvHeads: 32,
    vocab: 32064,
    positions: 4096,
  },
} as const satisfies Record<string, Omit<Shape, 'tokenizer' | 'theta'>>;
export type Like = keyof typeof SHAPES;

const TOKENIZER: Record<Shape['modelType'], Shape['tokenizer']> = {
  opt: 'opt-tiny-bpe',
  llama: 'stories260K',
  phi3: 'stories260K',
};

/** config.json of each model type, from a shape (n blocks). */
const CONFIGS: Record<Shape['modelType'], (s: Shape, n: number, like: string) => Record<string, unknown>> = {
  opt: (s, n) => ({
    architectures: ['OPTForCausalLM'],
    model_type: 'opt',
    hidden_size: s.hidden,
    ffn_dim: s.ffn,
    num_hidden_layers: n,
    num_attention_heads: s.heads,
    vocab_size: s.vocab,
    max_position_embeddings: s.positions,
    word_embed_proj_dim: s.hidden,
    do_layer_norm_before: true,
    activation_function: 'relu',
    enable_bias: true,
    layer_norm_elementwise_affine: true,
    bos_token_id: 2,
    eos_token_id: 2,
    pad_token_id: 1,
    torch_dtype: 'float16',
  }),
  llama: (s, n, like) => ({
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: s.hidden,
    intermediate_size: s.ffn,
    num_hidden_layers: n,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    vocab_size: s.vocab,
    max_position_embeddings: s.positions,
    rms_norm_eps: 1e-5,
    rope_theta: like === 'llama3-8b' ? 500000 : 10000,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: 'float16',
    ...(like === 'llama3-8b'
      ? {
          rope_scaling: {
            rope_type: 'llama3',
            factor: 8,
            low_freq_factor: 1,
            high_freq_factor: 4,
            original_max_position_embeddings: 8192,
          },
        }
      : {}),
  }),
  // microsoft/Phi-3-mini-4k-instruct's config.json, with the lab's block count
  phi3: (s, n) => ({
    architectures: ['Phi3ForCausalLM'],
    model_type: 'phi3',
    hidden_size: s.hidden,
    intermediate_size: s.ffn,
    num_hidden_layers: n,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    vocab_size: s.vocab,
    max_position_embeddings: s.positions,
    original_max_position_embeddings: s.positions,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    sliding_window: 2047,
    tie_word_embeddings: false,
    hidden_act: 'silu',
    attention_bias: false,
    bos_token_id: 1,
    eos_token_id: 32000,
    pad_token_id: 32000,
    torch_dtype: 'float16',
  }),
};

export function synthConfig(like: Like, layers?: number): Record<string, unknown> {
  const s: Shape = { ...SHAPES[like], tokenizer: TOKENIZER[SHAPES[like].modelType] };
  return CONFIGS[s.modelType](s, layers ?? s.layers, like);
}

/** A tensor of a checkpoint with its shape and how it is filled. */
export interface SynthTensor {
  name: string;
  shape: number[];
  fill: 'random' | 'one' | 'zero';
}

/** Every tensor a checkpoint of this config holds, as the family names and fuses them. */
export function checkpointTensors(cfg: ModelConfig): SynthTensor[] {
  const f = familyOf(cfg);
  const a = f.names;
  const { hidden: C, vocab: V } = cfg;
  const normBias = f.norm === 'layer';
  const out: SynthTensor[] = [{ name: a.embedTokens, shape: [V, C], fill: 'random' }];
  if (a.embedPositions)
    out.push({ name: a.embedPositions, shape: [cfg.maxPositions + cfg.positionOffset, C], fill: 'random' });
  const shapes = linearShapes(cfg);
  for (let i = 0; i < cfg.layers; i++) {
    const p = a.layerPrefix(i);
    for (const { module, roles } of checkpointModules(cfg)) {
      const rows = roles.reduce((n, r) => n + shapes[r]![0], 0);
      out.push({ name: `${p}.${module}.weight`, shape: [rows, shapes[roles[0]]![1]], fill: 'random' });
      if (hasBias(cfg, roles[0])) out.push({ name: `${p}.${module}.bias`, shape: [rows], fill: 'zero' });
    }
    for (const n of [a.attnNorm, a.ffnNorm]) {
      out.push({ name: `${p}.${n}.weight`, shape: [C], fill: 'one' });
      if (normBias) out.push({ name: `${p}.${n}.bias`, shape: [C], fill: 'zero' });
    }
  }
  out.push({ name: `${a.finalNorm}.weight`, shape: [C], fill: 'one' });
  if (normBias) out.push({ name: `${a.finalNorm}.bias`, shape: [C], fill: 'zero' });
  if (!cfg.tieEmbeddings) out.push({ name: a.lmHead, shape: [V, C], fill: 'random' });
  return out;
}

/** Writes DIR/config.json, DIR/model.safetensors (F16) and the tokenizer; returns the checkpoint's bytes. */
export function synthesize(like: Like, dir: string, o: { layers?: number; seed?: number } = {}): number {
  const config = synthConfig(like, o.layers);
  const tensors = checkpointTensors(parseConfig(config));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const tokenizerFrom = join(SHARED, 'models', TOKENIZER[SHAPES[like].modelType]);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizerFrom, f), join(dir, f));
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const t of tensors) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * 2;
    header[t.name] = { dtype: 'F16', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const fd = openSync(join(dir, 'model.safetensors'), 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeSync(fd, len);
    writeSync(fd, json);
    // random values from a table of 4096 f16 samples of a uniform of std 0.02, indexed by a seeded LCG: fast enough
    // for billions of weights, and the same bytes for the same seed
    let s = (o.seed ?? 0) >>> 0;
    const table = Uint16Array.from({ length: 4096 }, (_, i) =>
      f32ToF16(((i + 0.5) / 4096 - 0.5) * 0.02 * Math.sqrt(12)),
    );
    const chunk = new Uint16Array(1 << 22);
    for (const t of tensors) {
      let n = t.shape.reduce((a, b) => a * b, 1);
      const constant = t.fill === 'one' ? f32ToF16(1) : 0;
      while (n > 0) {
        const k = Math.min(n, chunk.length);
        if (t.fill === 'random') {
          for (let i = 0; i < k; i++) {
            s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
            chunk[i] = table[s >>> 20];
          }
        } else chunk.fill(constant, 0, k);
        writeSync(fd, chunk.subarray(0, k));
        n -= k;
      }
    }
  } finally {
    closeSync(fd);
  }
  return offset;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  const arg = (name: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  try {
    const like = arg('like') as Like | undefined;
    const out = arg('out');
    if (!like || !(like in SHAPES)) throw new OptionsError(`--like must be one of ${Object.keys(SHAPES).join(', ')}`);
    if (!out) throw new OptionsError('--out DIR is required');
    const layers = arg('layers') !== undefined ? Number(arg('layers')) : undefined;
    if (layers !== undefined && !(Number.isInteger(layers) && layers >= 1))
      throw new OptionsError('--layers must be a positive integer');
    const t = performance.now();
    const bytes = synthesize(like, out, { layers, seed: Number(arg('seed') ?? 0) });
    console.log(
      `${out}: ${like}-shaped, ${layers ?? SHAPES[like].layers} blocks, ${(bytes / 2 ** 30).toFixed(2)} GiB of F16 ` +
        `weights in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
  } catch (e) {
    console.error(e instanceof OptionsError ? `error: ${e.message}` : e);
    process.exitCode = 2;
  }
}
