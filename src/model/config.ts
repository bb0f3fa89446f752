// config.json → the one ModelConfig both families share. Two families fit in a table, not a class each:
// OPT (pre-LayerNorm, learned positions offset 2, ReLU) and LLaMA (RMSNorm, RoPE, SiLU gate; qwen2 adds q/k/v bias).
import { UnsupportedModelError } from '../errors.ts';
import { parseGptqConfig, type GptqFormat } from './gptqCheckpoint.ts';

export type Family = 'opt' | 'llama';

export interface RopeConfig {
  theta: number;
  /** HF rope_scaling: default / linear / llama3 */
  scaling:
    | { type: 'default' }
    | { type: 'linear'; factor: number }
    | {
        type: 'llama3';
        factor: number;
        lowFreqFactor: number;
        highFreqFactor: number;
        originalMaxPositions: number;
      };
}

export interface ModelConfig {
  family: Family;
  modelType: string;
  hidden: number; // C
  layers: number;
  heads: number; // H
  kvHeads: number; // HKV
  headDim: number; // D
  ffn: number;
  vocab: number; // V
  maxPositions: number;
  normEps: number;
  tieEmbeddings: boolean;
  activation: 'relu' | 'gelu' | 'silu';
  /** linear layers with a bias: all of OPT's; q/k/v for qwen2; none for LLaMA unless attention_bias */
  qkvBias: boolean;
  outBias: boolean;
  mlpBias: boolean;
  rope: RopeConfig | null;
  /** OPT's learned positions are indexed from 2 */
  positionOffset: number;
  bosTokenId: number | null;
  /** a GPTQ-format checkpoint: its decoder linears are packed codes (gptqCheckpoint.ts), dequantized per block */
  gptq?: GptqFormat;
}

const LLAMA_TYPES = ['llama', 'mistral', 'qwen2'];
const SUPPORTED = ['opt', ...LLAMA_TYPES];

type Json = Record<string, unknown>;

function num(c: Json, key: string, fallback?: number): number {
  const v = c[key];
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (fallback !== undefined && (v === undefined || v === null)) return fallback;
  throw new UnsupportedModelError(
    v === undefined
      ? `config.json has no numeric "${key}"`
      : `config.json's "${key}" is ${JSON.stringify(v)}, not a number`,
  );
}

/** A positive integer field (a width, a count). */
function count(c: Json, key: string, fallback?: number): number {
  const v = num(c, key, fallback);
  if (!Number.isInteger(v) || v < 1)
    throw new UnsupportedModelError(`config.json's "${key}" is ${v}; it must be a positive integer`);
  return v;
}

/**
 * The attention shape must add up before any tensor is read: otherwise the first symptom would be a tensor-shape
 * mismatch of some projection, which names the wrong problem.
 */
function checkHeads(cfg: ModelConfig, headDimGiven: boolean): ModelConfig {
  const { hidden, heads, kvHeads, headDim } = cfg;
  if (!headDimGiven && hidden % heads !== 0) {
    throw new UnsupportedModelError(
      `config.json: hidden_size ${hidden} is not divisible by num_attention_heads ${heads}, ` +
        'so the heads have no whole width (and no head_dim is given)',
    );
  }
  if (heads % kvHeads !== 0)
    throw new UnsupportedModelError(
      `config.json: num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}`,
    );
  if (!Number.isInteger(headDim) || headDim < 1)
    throw new UnsupportedModelError(`config.json: head_dim ${headDim} must be a positive integer`);
  if (cfg.rope && headDim % 2 !== 0)
    throw new UnsupportedModelError(`config.json: head_dim ${headDim} is odd; rotary embeddings rotate channel pairs`);
  return cfg;
}

export function parseConfig(c: Json): ModelConfig {
  const modelType = String(c.model_type ?? '');
  if (!SUPPORTED.includes(modelType)) {
    throw new UnsupportedModelError(
      `model_type "${modelType || '(missing)'}" is not supported; the lab runs ${SUPPORTED.join(', ')} ` +
        '(OPT and the LLaMA family: LLaMA/Llama-2/3, TinyLlama, SmolLM, Mistral, Qwen2).',
    );
  }
  const cfg = modelType === 'opt' ? parseOpt(c) : parseLlama(c, modelType);
  const q = c.quantization_config as Json | undefined;
  if (q && typeof q === 'object') cfg.gptq = parseGptqConfig(q, 'config.json quantization_config');
  return cfg;
}

function parseOpt(c: Json): ModelConfig {
  const hidden = count(c, 'hidden_size');
  if (c.do_layer_norm_before === false) {
    throw new UnsupportedModelError(
      'This OPT checkpoint is post-LayerNorm (do_layer_norm_before = false, as OPT-350m); ' +
        'the lab runs pre-LayerNorm OPT only.',
    );
  }
  if (num(c, 'word_embed_proj_dim', hidden) !== hidden) {
    throw new UnsupportedModelError(
      'OPT with project_in/project_out (word_embed_proj_dim ≠ hidden_size, as OPT-350m) is not supported.',
    );
  }
  const act = String(c.activation_function ?? 'relu');
  if (act !== 'relu' && act !== 'gelu')
    throw new UnsupportedModelError(`OPT activation "${act}" is not supported (relu, gelu)`);
  const heads = count(c, 'num_attention_heads');
  const bias = c.enable_bias !== false;
  return checkHeads(
    {
      family: 'opt',
      modelType: 'opt',
      hidden,
      layers: count(c, 'num_hidden_layers'),
      heads,
      kvHeads: heads,
      headDim: hidden / heads,
      ffn: count(c, 'ffn_dim'),
      vocab: count(c, 'vocab_size'),
      maxPositions: count(c, 'max_position_embeddings'),
      normEps: 1e-5,
      tieEmbeddings: c.tie_word_embeddings !== false,
      activation: act,
      qkvBias: bias,
      outBias: bias,
      mlpBias: bias,
      rope: null,
      positionOffset: 2,
      bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : null,
    },
    false,
  );
}

function parseLlama(c: Json, modelType: string): ModelConfig {
  const hidden = count(c, 'hidden_size');
  const heads = count(c, 'num_attention_heads');
  const act = String(c.hidden_act ?? 'silu');
  if (act !== 'silu') throw new UnsupportedModelError(`${modelType} hidden_act "${act}" is not supported (silu)`);
  const attnBias = c.attention_bias === true;
  const headDimGiven = typeof c.head_dim === 'number';
  return checkHeads(
    {
      family: 'llama',
      modelType,
      hidden,
      layers: count(c, 'num_hidden_layers'),
      heads,
      kvHeads: count(c, 'num_key_value_heads', heads),
      headDim: headDimGiven ? count(c, 'head_dim') : hidden / heads,
      ffn: count(c, 'intermediate_size'),
      vocab: count(c, 'vocab_size'),
      maxPositions: count(c, 'max_position_embeddings'),
      normEps: num(c, 'rms_norm_eps', 1e-6),
      tieEmbeddings: c.tie_word_embeddings === true,
      activation: 'silu',
      qkvBias: modelType === 'qwen2' || attnBias,
      outBias: attnBias,
      mlpBias: c.mlp_bias === true,
      rope: {
        theta: num(c, 'rope_theta', 10000),
        scaling: parseRopeScaling(c.rope_scaling as Json | null | undefined),
      },
      positionOffset: 0,
      bosTokenId: typeof c.bos_token_id === 'number' ? c.bos_token_id : null,
    },
    headDimGiven,
  );
}

function parseRopeScaling(s: Json | null | undefined): RopeConfig['scaling'] {
  if (!s) return { type: 'default' };
  const type = String(s.rope_type ?? s.type ?? 'default');
  if (type === 'default') return { type };
  if (type === 'linear') return { type, factor: num(s, 'factor') };
  if (type === 'llama3') {
    return {
      type,
      factor: num(s, 'factor'),
      lowFreqFactor: num(s, 'low_freq_factor'),
      highFreqFactor: num(s, 'high_freq_factor'),
      originalMaxPositions: num(s, 'original_max_position_embeddings'),
    };
  }
  throw new UnsupportedModelError(`rope_scaling type "${type}" is not supported (default, linear, llama3)`);
}

/** Parameter count of the decoder as the config describes it (embeddings included, lm_head once if tied). */
export function parameterCount(cfg: ModelConfig): number {
  const { hidden: C, ffn: F, heads: H, kvHeads: HKV, headDim: D, vocab: V } = cfg;
  const attn = C * H * D * 2 + C * HKV * D * 2;
  const mlp = cfg.family === 'opt' ? 2 * C * F : 3 * C * F;
  const norms = cfg.family === 'opt' ? 4 * C : 2 * C;
  const perLayer = attn + mlp + norms;
  const embeddings = V * C + (cfg.family === 'opt' ? (cfg.maxPositions + 2) * C : 0);
  return cfg.layers * perLayer + embeddings + (cfg.tieEmbeddings ? 0 : V * C) + C;
}
