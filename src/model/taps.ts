// The forward pass's named hook points (taps), as one typed list: the forward calls them, the statistics collectors
// and the methods listen to them, the Inspect panel names them. No free strings: a tap is a norm output, a linear
// layer's input or output by role (q.in, down.in…), or on rotary models q and k after RoPE.
import type { LinearRole } from './families.ts';
import type { ModelConfig } from './config.ts';

export type NormTap = 'attn_norm' | 'ffn_norm';
export type RopeTap = 'q_rope' | 'k_rope';
export type LinearTap = `${LinearRole}.in` | `${LinearRole}.out`;
export type TapPoint = NormTap | RopeTap | LinearTap;

export const tapIn = (role: LinearRole): LinearTap => `${role}.in`;
export const tapOut = (role: LinearRole): LinearTap => `${role}.out`;

/** A callback at every tap of every block; it sees each tensor as the next op reads it. */
export type Tap<T> = (layer: number, point: TapPoint, x: T) => void | Promise<void>;

/**
 * Where activations can be fake-quantized inside a block: the two norm outputs, the q/k/v that enter attention
 * (K and V are the KV cache; q and k after RoPE where the model has it), the out_proj input and the fc2/down input.
 */
export type ActSite = 'attn_norm' | 'q' | 'k' | 'v' | 'o_in' | 'ffn_norm' | 'down_in';
export const ACT_SITES: readonly ActSite[] = ['attn_norm', 'q', 'k', 'v', 'o_in', 'ffn_norm', 'down_in'];

/** The tap that shows each site's activations before they are quantized. */
export function siteTaps(cfg: Pick<ModelConfig, 'rope'>): Partial<Record<TapPoint, ActSite>> {
  return {
    attn_norm: 'attn_norm',
    [cfg.rope ? 'q_rope' : tapOut('q')]: 'q',
    [cfg.rope ? 'k_rope' : tapOut('k')]: 'k',
    [tapOut('v')]: 'v',
    [tapIn('o')]: 'o_in',
    ffn_norm: 'ffn_norm',
    [tapIn('down')]: 'down_in',
  };
}

/** The site whose input clusters or statistics each linear layer reads. */
export const INPUT_SITE: Record<LinearRole, ActSite> = {
  q: 'attn_norm',
  k: 'attn_norm',
  v: 'attn_norm',
  o: 'o_in',
  gate: 'ffn_norm',
  up: 'ffn_norm',
  down: 'down_in',
};
