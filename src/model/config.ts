// config.json → the one ModelConfig every family shares. The family (families.ts: OPT's pre-LayerNorm block with
// learned positions, LLaMA's RMSNorm/RoPE/SiLU-gate block, Phi-3's with fused projections) is found by model_type;
// each family reads its own config fields here (qwen2 adds q/k/v bias; Phi-3 has a sliding window).
import { UnsupportedModelError } from '../errors.ts';
import { parseGptqConfig, type GptqFormat } from './gptqCheckpoint.ts';
import { FAMILIES, MODEL_TYPES, blockParameters, familyOf, type FamilyName } from './families.ts';

export type Family = FamilyName;

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
  /** generation stops at any of these (config.json's eos_token_id: one id or a list) */
  eosTokenIds: number[];
  /** a GPTQ-format checkpoint: its decoder linears are packed codes (gptqCheckpoint.ts), dequantized per block */
  gptq?: GptqFormat;
  /** attention sees at most this many earlier positions (Phi-3): windows are capped at it, never masked */
  slidingWindow?: number;
}

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

/** Each family's reading of config.json (the family comes from model_type, through the families table). */
const PARSERS: Record<FamilyName, (c: Json, modelType: string) => ModelConfig> = {
  opt: parseOpt,
  llama: parseLlama,
  phi3: parsePhi3,
};

export function parseConfig(c: Json): ModelConfig {
  const modelType = String(c.model_type ?? '');
  const family = Object.values(FAMILIES).find((f) => f.modelTypes.includes(modelType));
  if (!family) {
    throw new UnsupportedModelError(
      `model_type "${modelType || '(missing)'}" is not supported; the lab runs ${MODEL_TYPES.join(', ')} ` +
        '(OPT and the LLaMA family: LLaMA/Llama-2/3, TinyLlama, SmolLM, Mistral, Qwen2, Phi-3).',
    );
  }
  const cfg = PARSERS[family.name](c, modelType);
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
      eosTokenIds: eosIds(c.eos_token_id),
    },
    false,
  );
}

/**
 * Phi-3: LLaMA's block with fused qkv_proj and gate_up_proj. The 4k models use plain RoPE; the 128k models' longrope
 * ("su") scaling is refused by name. Attention is limited to a sliding window (2047 for Phi-3-mini): windows longer
 * than it are capped, so no mask is ever needed.
 */
function parsePhi3(c: Json, modelType: string): ModelConfig {
  const scaling = c.rope_scaling as Json | null | undefined;
  const type = scaling ? String(scaling.rope_type ?? scaling.type ?? 'default') : 'default';
  if (type === 'longrope' || type === 'su') {
    throw new UnsupportedModelError(
      `Phi-3's rope_scaling "${type}" (the 128k-context models) is not supported; the lab runs the 4k Phi-3 models ` +
        '(plain RoPE)',
    );
  }
  if (typeof c.partial_rotary_factor === 'number' && c.partial_rotary_factor !== 1) {
    throw new UnsupportedModelError(`Phi-3 with partial_rotary_factor ${c.partial_rotary_factor} is not supported`);
  }
  const cfg = parseLlama(c, modelType);
  const window = typeof c.sliding_window === 'number' ? count(c, 'sliding_window') : undefined;
  return { ...cfg, family: 'phi3', ...(window !== undefined ? { slidingWindow: window } : {}) };
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
      eosTokenIds: eosIds(c.eos_token_id),
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
  const { hidden: C, vocab: V } = cfg;
  const positions = familyOf(cfg).positions === 'learned' ? (cfg.maxPositions + cfg.positionOffset) * C : 0;
  return cfg.layers * blockParameters(cfg) + V * C + positions + (cfg.tieEmbeddings ? 0 : V * C) + C;
}

/** The longest window a run can use: the model's positions, and Phi-3's sliding window. */
export function maxWindow(cfg: ModelConfig): number {
  return Math.min(cfg.maxPositions, cfg.slidingWindow ?? Infinity);
}

/** eos_token_id as config.json gives it: a number, a list of numbers, or absent */
function eosIds(v: unknown): number[] {
  const ids = Array.isArray(v) ? v : [v];
  return ids.filter((x): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0);
}
