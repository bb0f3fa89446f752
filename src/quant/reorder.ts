// RPTQ's reorder, folded into the weights so it costs nothing at run time (shared/docs/methods.md):
//   R1 the attention norm's outputs and the input columns of q, k, v;
//   R2 the output rows (and biases) of q and k, inside each head, one permutation shared by Q and K;
//   R3 the output rows of v and the input columns of out_proj, inside each head;
//   R4 the FFN norm's outputs and the input columns of fc1 (gate/up);
//   R5 the output rows of fc1 (gate/up) and the input columns of fc2 (down).
// The residual stream is never permuted. A permutation p means: new channel i is old channel p[i].
import { LabError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import type { HostBlock, HostLinear, HostNorm } from '../model/weights.ts';

export interface BlockReorder {
  R1?: Uint32Array; // [C]
  /** per KV head, block-diagonal over [HKV·D]; query heads follow the KV head they read */
  R2?: Uint32Array;
  R3?: Uint32Array; // [HKV·D], block-diagonal
  R4?: Uint32Array; // [C]
  R5?: Uint32Array; // [ffn]
}

function rows(l: HostLinear, p: Uint32Array): HostLinear {
  const [R, K] = l.shape;
  const W = new Float32Array(R * K);
  for (let i = 0; i < R; i++) W.set(l.W.subarray(p[i] * K, p[i] * K + K), i * K);
  return { W, shape: l.shape, b: l.b ? Float32Array.from(p, (j) => l.b![j]) : null };
}

function cols(l: HostLinear, p: Uint32Array): HostLinear {
  const [R, K] = l.shape;
  const W = new Float32Array(R * K);
  for (let r = 0; r < R; r++) for (let i = 0; i < K; i++) W[r * K + i] = l.W[r * K + p[i]];
  return { W, shape: l.shape, b: l.b };
}

function norm(n: HostNorm, p: Uint32Array): HostNorm {
  if (n.perm) throw new LabError('this norm already carries a reorder');
  return {
    g: Float32Array.from(p, (j) => n.g[j]),
    b: n.b ? Float32Array.from(p, (j) => n.b![j]) : null,
    perm: p.slice(),
  };
}

/** A KV-head permutation [HKV·D] spread over the H query heads that read each KV head. */
export function expandToQueryHeads(p: Uint32Array, H: number, HKV: number, D: number): Uint32Array {
  const out = new Uint32Array(H * D);
  for (let h = 0; h < H; h++) {
    const g = Math.floor(h / (H / HKV));
    for (let i = 0; i < D; i++) out[h * D + i] = h * D + (p[g * D + i] - g * D);
  }
  return out;
}

function checkPermutation(p: Uint32Array, n: number, what: string, headDim?: number): void {
  if (p.length !== n) throw new LabError(`${what}: a permutation of ${n} channels was expected, got ${p.length}`);
  const seen = new Uint8Array(n);
  p.forEach((j, i) => {
    if (j >= n || seen[j]) throw new LabError(`${what} is not a permutation (channel ${j} at ${i})`);
    if (headDim && Math.floor(j / headDim) !== Math.floor(i / headDim))
      throw new LabError(`${what} moves channel ${j} out of its head`);
    seen[j] = 1;
  });
}

export function reorderBlock(b: HostBlock, r: BlockReorder, cfg: ModelConfig): HostBlock {
  const { hidden: C, heads: H, kvHeads: HKV, headDim: D, ffn: F } = cfg;
  const L = { ...b.linears };
  let attnNorm = b.attnNorm;
  let ffnNorm = b.ffnNorm;
  if (r.R1) {
    checkPermutation(r.R1, C, 'R1');
    attnNorm = norm(attnNorm, r.R1);
    for (const role of ['q', 'k', 'v'] as const) L[role] = cols(L[role]!, r.R1);
  }
  if (r.R2) {
    checkPermutation(r.R2, HKV * D, 'R2', D);
    if (cfg.rope) {
      throw new LabError(
        'R2 on a rotary (LLaMA-family) model needs rotary pairs kept together and the rotation tables permuted ' +
          'alike; not implemented yet',
      );
    }
    L.q = rows(L.q!, expandToQueryHeads(r.R2, H, HKV, D));
    L.k = rows(L.k!, r.R2);
  }
  if (r.R3) {
    checkPermutation(r.R3, HKV * D, 'R3', D);
    L.v = rows(L.v!, r.R3);
    L.o = cols(L.o!, expandToQueryHeads(r.R3, H, HKV, D));
  }
  if (r.R4) {
    checkPermutation(r.R4, C, 'R4');
    ffnNorm = norm(ffnNorm, r.R4);
    for (const role of ['gate', 'up'] as const) if (L[role]) L[role] = cols(L[role]!, r.R4);
  }
  if (r.R5) {
    checkPermutation(r.R5, F, 'R5');
    for (const role of ['gate', 'up'] as const) if (L[role]) L[role] = rows(L[role]!, r.R5);
    L.down = cols(L.down!, r.R5);
  }
  return { attnNorm, ffnNorm, linears: L };
}

function inverse(p: Uint32Array): Uint32Array {
  const inv = new Uint32Array(p.length);
  p.forEach((j, i) => (inv[j] = i));
  return inv;
}

/**
 * The linear layers of a reordered block back in the checkpoint's channel order (the inverse of every permutation
 * reorderBlock folded in): what a plain checkpoint of the quantized block holds. Norms are not touched (a reorder
 * only permutes them, so the checkpoint's own are the unfolded ones).
 */
export function unfoldLinears(linears: HostBlock['linears'], r: BlockReorder, cfg: ModelConfig): HostBlock['linears'] {
  const { heads: H, kvHeads: HKV, headDim: D } = cfg;
  const L = { ...linears };
  if (r.R1) for (const role of ['q', 'k', 'v'] as const) L[role] = cols(L[role]!, inverse(r.R1));
  if (r.R2) {
    L.q = rows(L.q!, inverse(expandToQueryHeads(r.R2, H, HKV, D)));
    L.k = rows(L.k!, inverse(r.R2));
  }
  if (r.R3) {
    L.v = rows(L.v!, inverse(r.R3));
    L.o = cols(L.o!, inverse(expandToQueryHeads(r.R3, H, HKV, D)));
  }
  if (r.R4) for (const role of ['gate', 'up'] as const) if (L[role]) L[role] = cols(L[role]!, inverse(r.R4));
  if (r.R5) {
    for (const role of ['gate', 'up'] as const) if (L[role]) L[role] = rows(L[role]!, inverse(r.R5));
    L.down = cols(L.down!, inverse(r.R5));
  }
  return L;
}
