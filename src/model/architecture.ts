// Hugging Face tensor names for the two families, as one table. The forward pass speaks in roles
// (q, k, v, o, gate, up, down); hook points and reports use the HF names users know (fc2.in, down_proj.in).
import type { Family } from './config.ts';

export type LinearRole = 'q' | 'k' | 'v' | 'o' | 'gate' | 'up' | 'down';

export interface ArchitectureNames {
  embedTokens: string;
  embedPositions: string | null;
  finalNorm: string;
  lmHead: string;
  layerPrefix: (i: number) => string;
  /** role → HF module path inside a layer */
  linears: Partial<Record<LinearRole, string>>;
  attnNorm: string;
  ffnNorm: string;
  /** LayerNorm has a bias, RMSNorm does not */
  normBias: boolean;
}

export const ARCHITECTURES: Record<Family, ArchitectureNames> = {
  opt: {
    embedTokens: 'model.decoder.embed_tokens.weight',
    embedPositions: 'model.decoder.embed_positions.weight',
    finalNorm: 'model.decoder.final_layer_norm',
    lmHead: 'lm_head.weight',
    layerPrefix: (i) => `model.decoder.layers.${i}`,
    linears: {
      q: 'self_attn.q_proj',
      k: 'self_attn.k_proj',
      v: 'self_attn.v_proj',
      o: 'self_attn.out_proj',
      up: 'fc1',
      down: 'fc2',
    },
    attnNorm: 'self_attn_layer_norm',
    ffnNorm: 'final_layer_norm',
    normBias: true,
  },
  llama: {
    embedTokens: 'model.embed_tokens.weight',
    embedPositions: null,
    finalNorm: 'model.norm',
    lmHead: 'lm_head.weight',
    layerPrefix: (i) => `model.layers.${i}`,
    linears: {
      q: 'self_attn.q_proj',
      k: 'self_attn.k_proj',
      v: 'self_attn.v_proj',
      o: 'self_attn.o_proj',
      gate: 'mlp.gate_proj',
      up: 'mlp.up_proj',
      down: 'mlp.down_proj',
    },
    attnNorm: 'input_layernorm',
    ffnNorm: 'post_attention_layernorm',
    normBias: false,
  },
};

/** The short HF name of a linear layer (q_proj, out_proj, fc1, down_proj…), used in hook points and reports. */
export function linearName(family: Family, role: LinearRole): string {
  const path = ARCHITECTURES[family].linears[role];
  if (!path) throw new Error(`${family} has no ${role} projection`);
  return path.split('.').pop()!;
}

export function linearRoles(family: Family): LinearRole[] {
  return Object.keys(ARCHITECTURES[family].linears) as LinearRole[];
}
