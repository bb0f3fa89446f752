// DuQuant's smoothing (SmoothQuant's migration with the reference's pairs; shared/docs/methods.md, "DuQuant"): for each
// linear input, s = max|x|^α / max_rows|W_key|^(1−α), clamped to ≥ 1e-5 and then |s| < 0.01 → 0.01. The
// activation is divided by s — folded into its producer (a norm's gain and bias, up_proj's or v_proj's rows) — and
// every consumer's input columns are multiplied by s, so full-precision outputs are unchanged. With grouped-query
// attention v_proj has fewer rows than o_proj's input, so o_proj's input is divided by s at run time instead.
import { familyOf, type LinearRole } from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import type { HostBlock, HostLinear } from '../model/weights.ts';

/** The four linear inputs DuQuant transforms, in the order the forward reaches them. */
export type LinearSite = 'attn_norm' | 'o_in' | 'ffn_norm' | 'down_in';
export const LINEAR_SITES: readonly LinearSite[] = ['attn_norm', 'o_in', 'ffn_norm', 'down_in'];

/** The layers that read each linear input (the family's table says). */
export function consumers(cfg: Pick<ModelConfig, 'family'>, site: LinearSite): LinearRole[] {
  return [...familyOf(cfg).inputs[site]];
}

/** The reference's W_key: one layer per pair (q_proj for q/k/v, up_proj for gate/up). */
export const SMOOTH_KEY: Record<LinearSite, LinearRole> = {
  attn_norm: 'q',
  o_in: 'o',
  ffn_norm: 'up',
  down_in: 'down',
};

/** s per input channel from the activation's max|x| and W_key's per-column max|w|. */
export function smoothingScale(actMax: ArrayLike<number>, key: HostLinear, alpha: number): Float32Array {
  const [R, K] = key.shape;
  const w = new Float64Array(K).fill(1e-5);
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) w[c] = Math.max(w[c], Math.abs(key.W[r * K + c]));
  return Float32Array.from({ length: K }, (_, c) => {
    const s = Math.max(Math.max(actMax[c], 1e-5) ** alpha / w[c] ** (1 - alpha), 1e-5);
    return s < 0.01 ? 0.01 : s; // the reference's truncate_number
  });
}

export type SmoothingScales = Record<LinearSite, Float32Array>;

/** A block's host weights, copied (transforms edit the copy). */
export function copyHostBlock(h: HostBlock): HostBlock {
  const norm = (n: HostBlock['attnNorm']) => ({
    g: n.g.slice(),
    b: n.b?.slice() ?? null,
    perm: n.perm?.slice() ?? null,
  });
  const linears: HostBlock['linears'] = {};
  for (const [role, l] of Object.entries(h.linears))
    linears[role as LinearRole] = { W: l!.W.slice(), shape: l!.shape, b: l!.b?.slice() ?? null };
  return { ...h, attnNorm: norm(h.attnNorm), ffnNorm: norm(h.ffnNorm), linears };
}

function scaleColumns(l: HostLinear, s: Float32Array): void {
  const [R, K] = l.shape;
  for (let r = 0; r < R; r++) for (let c = 0; c < K; c++) l.W[r * K + c] *= s[c];
}

function divideRows(l: HostLinear, s: Float32Array): void {
  const [R, K] = l.shape;
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < K; c++) l.W[r * K + c] /= s[r];
    if (l.b) l.b[r] /= s[r];
  }
}

/**
 * The scales folded into a copy of the block. Returns the smoothed block and, with grouped-query attention, the
 * scales o_proj's input must be divided by at run time (null when v_proj absorbed them).
 */
export function smoothBlock(
  host: HostBlock,
  s: SmoothingScales,
  cfg: ModelConfig,
): { host: HostBlock; oDivide: Float32Array | null } {
  const h = copyHostBlock(host);
  const L = h.linears;
  for (const [norm, site] of [
    [h.attnNorm, 'attn_norm'],
    [h.ffnNorm, 'ffn_norm'],
  ] as const) {
    for (let c = 0; c < norm.g.length; c++) {
      norm.g[c] /= s[site][c];
      if (norm.b) norm.b[c] /= s[site][c];
    }
    for (const role of consumers(cfg, site)) scaleColumns(L[role]!, s[site]);
  }
  // up_proj (fc1) rows → down_proj (fc2): exact through SiLU·up and through ReLU (positively homogeneous, s > 0)
  divideRows(L.up!, s.down_in);
  scaleColumns(L.down!, s.down_in);
  scaleColumns(L.o!, s.o_in);
  const gqa = L.v!.shape[0] !== L.o!.shape[1];
  if (!gqa) divideRows(L.v!, s.o_in);
  return { host: h, oDivide: gqa ? s.o_in : null };
}
