// The model families as one table: what each family's decoder block is (norm, MLP, positions), what its tensors are
// called and how a fused tensor splits into the lab's linear layers (and fuses again on export), which linear layers
// read each input (the true-sequential groups, smoothing and reorder consumers), and how config.json becomes a
// ModelConfig. Every other file asks this table; none tests a family's name.
import { UnsupportedModelError } from '../errors.ts';
import type { ModelConfig } from './config.ts';

export type FamilyName = 'opt' | 'llama' | 'phi3';
export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';

/** The four linear inputs of a block, in the order the forward reaches them. */
export type LinearSite = 'attn_norm' | 'o_in' | 'ffn_norm' | 'down_in';

export interface FamilyNames {
  embedTokens: string;
  embedPositions: string | null;
  finalNorm: string;
  lmHead: string;
  layerPrefix: (i: number) => string;
  attnNorm: string;
  ffnNorm: string;
}

export interface Family {
  name: FamilyName;
  /** config.json model_type values the family reads */
  modelTypes: readonly string[];
  /** LayerNorm (with bias) or RMSNorm */
  norm: 'layer' | 'rms';
  /** plain: down(act(up(x))); gated: down(silu(gate(x)) · up(x)) */
  mlp: 'plain' | 'gated';
  /** learned position embeddings (OPT, indexed from positionOffset) or rotary */
  positions: 'learned' | 'rope';
  names: FamilyNames;
  /** each linear layer: the module that holds it (inside a layer) and the HF name reports use for it */
  linears: Partial<Record<LinearRole, { module: string; name: string }>>;
  /** fused modules: the module's rows are these layers' rows, in this order (Phi-3's qkv_proj, gate_up_proj) */
  fused?: readonly { module: string; roles: readonly LinearRole[] }[];
  /** true-sequential order inside a block: each group's inputs are collected after the groups before it */
  sequentialGroups: readonly (readonly LinearRole[])[];
  /** the layers that read each linear input (smoothing's and the reorder's consumers) */
  inputs: Record<LinearSite, readonly LinearRole[]>;
}

const OPT: Family = {
  name: 'opt',
  modelTypes: ['opt'],
  norm: 'layer',
  mlp: 'plain',
  positions: 'learned',
  names: {
    embedTokens: 'model.decoder.embed_tokens.weight',
    embedPositions: 'model.decoder.embed_positions.weight',
    finalNorm: 'model.decoder.final_layer_norm',
    lmHead: 'lm_head.weight',
    layerPrefix: (i) => `model.decoder.layers.${i}`,
    attnNorm: 'self_attn_layer_norm',
    ffnNorm: 'final_layer_norm',
  },
  linears: {
    q: { module: 'self_attn.q_proj', name: 'q_proj' },
    k: { module: 'self_attn.k_proj', name: 'k_proj' },
    v: { module: 'self_attn.v_proj', name: 'v_proj' },
    o: { module: 'self_attn.out_proj', name: 'out_proj' },
    up: { module: 'fc1', name: 'fc1' },
    down: { module: 'fc2', name: 'fc2' },
  },
  sequentialGroups: [['q', 'k', 'v'], ['o'], ['up'], ['down']],
  inputs: { attn_norm: ['q', 'k', 'v'], o_in: ['o'], ffn_norm: ['up'], down_in: ['down'] },
};

const LLAMA_NAMES: FamilyNames = {
  embedTokens: 'model.embed_tokens.weight',
  embedPositions: null,
  finalNorm: 'model.norm',
  lmHead: 'lm_head.weight',
  layerPrefix: (i) => `model.layers.${i}`,
  attnNorm: 'input_layernorm',
  ffnNorm: 'post_attention_layernorm',
};

const GATED_BLOCK = {
  norm: 'rms',
  mlp: 'gated',
  positions: 'rope',
  sequentialGroups: [['q', 'k', 'v'], ['o'], ['gate', 'up'], ['down']],
  inputs: { attn_norm: ['q', 'k', 'v'], o_in: ['o'], ffn_norm: ['gate', 'up'], down_in: ['down'] },
} as const;

const LLAMA: Family = {
  name: 'llama',
  modelTypes: ['llama', 'mistral', 'qwen2'],
  ...GATED_BLOCK,
  names: LLAMA_NAMES,
  linears: {
    q: { module: 'self_attn.q_proj', name: 'q_proj' },
    k: { module: 'self_attn.k_proj', name: 'k_proj' },
    v: { module: 'self_attn.v_proj', name: 'v_proj' },
    o: { module: 'self_attn.o_proj', name: 'o_proj' },
    gate: { module: 'mlp.gate_proj', name: 'gate_proj' },
    up: { module: 'mlp.up_proj', name: 'up_proj' },
    down: { module: 'mlp.down_proj', name: 'down_proj' },
  },
};

/** Phi-3: LLaMA's block with q, k, v in one qkv_proj and gate, up in one gate_up_proj (split on load, fused again on
 * export). */
const PHI3: Family = {
  name: 'phi3',
  modelTypes: ['phi3'],
  ...GATED_BLOCK,
  names: LLAMA_NAMES,
  linears: {
    q: { module: 'self_attn.qkv_proj', name: 'q_proj' },
    k: { module: 'self_attn.qkv_proj', name: 'k_proj' },
    v: { module: 'self_attn.qkv_proj', name: 'v_proj' },
    o: { module: 'self_attn.o_proj', name: 'o_proj' },
    gate: { module: 'mlp.gate_up_proj', name: 'gate_proj' },
    up: { module: 'mlp.gate_up_proj', name: 'up_proj' },
    down: { module: 'mlp.down_proj', name: 'down_proj' },
  },
  fused: [
    { module: 'self_attn.qkv_proj', roles: ['q', 'k', 'v'] },
    { module: 'mlp.gate_up_proj', roles: ['gate', 'up'] },
  ],
};

export const FAMILIES: Record<FamilyName, Family> = { opt: OPT, llama: LLAMA, phi3: PHI3 };

/** Every model_type the lab reads. */
export const MODEL_TYPES: readonly string[] = Object.values(FAMILIES).flatMap((f) => f.modelTypes);

/** The family of a config (or of a family name). */
export function familyOf(of: Pick<ModelConfig, 'family'> | FamilyName): Family {
  return FAMILIES[typeof of === 'string' ? of : of.family];
}

/** The family that reads a model_type (a result recorded before it kept its config names one by model_type). */
export function familyOfModelType(modelType: string): Family {
  const f = Object.values(FAMILIES).find((x) => x.modelTypes.includes(modelType));
  if (!f) throw new UnsupportedModelError(`model_type "${modelType}" belongs to no family the lab runs`);
  return f;
}

/** The linear layers of a block, in forward order. */
export function linearRoles(f: Pick<ModelConfig, 'family'> | FamilyName): LinearRole[] {
  return Object.keys(familyOf(f).linears) as LinearRole[];
}

/** The HF name of a linear layer (q_proj, out_proj, fc1, down_proj…), used in hook points and reports. */
export function linearName(f: Pick<ModelConfig, 'family'> | FamilyName, role: LinearRole): string {
  const l = familyOf(f).linears[role];
  if (!l) throw new Error(`${familyOf(f).name} has no ${role} projection`);
  return l.name;
}

/** [out, in] of each linear layer of a block. */
export function linearShapes(cfg: ModelConfig): Partial<Record<LinearRole, [number, number]>> {
  const { hidden: C, heads: H, kvHeads: HKV, headDim: D, ffn: F } = cfg;
  const all: Record<LinearRole, [number, number]> = {
    q: [H * D, C],
    k: [HKV * D, C],
    v: [HKV * D, C],
    o: [C, H * D],
    gate: [F, C],
    up: [F, C],
    down: [C, F],
  };
  return Object.fromEntries(linearRoles(cfg).map((r) => [r, all[r]]));
}

/** Where a linear layer's weights are in the checkpoint: a module (its `.weight`, `.bias`…) and, when fused, its
 * rows. */
export interface LinearTensor {
  /** the module's tensor prefix, e.g. model.layers.3.self_attn.qkv_proj */
  module: string;
  /** rows [r0, r1) of the module's tensors (a fused module); absent: the whole module */
  rows?: [number, number];
}

export function linearTensor(cfg: ModelConfig, layer: number, role: LinearRole): LinearTensor {
  const f = familyOf(cfg);
  const module = `${f.names.layerPrefix(layer)}.${f.linears[role]!.module}`;
  const fused = f.fused?.find((x) => x.roles.includes(role));
  if (!fused) return { module };
  const shapes = linearShapes(cfg);
  let r0 = 0;
  for (const r of fused.roles) {
    if (r === role) return { module, rows: [r0, r0 + shapes[r]![0]] };
    r0 += shapes[r]![0];
  }
  throw new Error(`unreachable: ${role} not in ${fused.module}`);
}

/** The modules of a block as the checkpoint holds them: each with the layers whose rows it holds, in order. */
export function checkpointModules(cfg: ModelConfig): { module: string; roles: LinearRole[] }[] {
  const f = familyOf(cfg);
  const out: { module: string; roles: LinearRole[] }[] = [];
  for (const role of linearRoles(cfg)) {
    const module = f.linears[role]!.module;
    const seen = out.find((m) => m.module === module);
    if (seen) seen.roles.push(role);
    else out.push({ module, roles: [role] });
  }
  return out;
}

/** Whether a linear layer has a bias (all of OPT's; q/k/v in Qwen2; as attention_bias / mlp_bias say otherwise). */
export function hasBias(cfg: ModelConfig, role: LinearRole): boolean {
  if (role === 'q' || role === 'k' || role === 'v') return cfg.qkvBias;
  if (role === 'o') return cfg.outBias;
  return cfg.mlpBias;
}

/** Parameters of one decoder block: its linear layers and norms. */
export function blockParameters(cfg: ModelConfig): number {
  const f = familyOf(cfg);
  const linear = Object.values(linearShapes(cfg)).reduce((s, [R, K]) => s + R * K, 0);
  return linear + (f.norm === 'layer' ? 4 : 2) * cfg.hidden;
}
