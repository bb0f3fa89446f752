// A decoder block's forward that keeps what its backward needs, and the backward from the block's output to its
// linear layers' weights: what learnable weight clipping trains through (quant/lwc.ts). The forward is the decoder's
// (forward.ts: the family's norm and MLP, the sites' online rotations and per-token quantizers) on one causal window;
// the backward runs the same ops in reverse with the `train` kernels. Only the weights' gradients leave it: the block's
// input gets none (nothing before it trains), and norms and biases stay fixed.
import type { Backend, Ids } from '../gpu/backend.ts';
import { familyOf, linearRoles, type LinearRole } from './families.ts';
import type { ModelConfig } from './config.ts';
import type { ActSite } from './taps.ts';
import { denseW, isTokenQuant, type BlockWeights, type Norm, type TokenQuant } from './weights.ts';

/** A site's tensors: x before its quantizer (the rotated input) and as the next op reads it. */
interface SiteTape<T> {
  /** before the quantizer; null when the site does not quantize (then `read` is the same tensor) */
  raw: T | null;
  read: T;
  quant: TokenQuant | undefined;
}

/** What the backward needs of one forward. */
export interface BlockTape<T> {
  /** the residual stream after attention: the FFN norm's input */
  x1: T;
  a: SiteTape<T>;
  q: SiteTape<T>;
  k: SiteTape<T>;
  v: SiteTape<T>;
  o: SiteTape<T>;
  f: SiteTape<T>;
  /** gated MLP: gate and up before silu·mul; plain: the activation's output (ReLU) or input (GELU) */
  gate: T | null;
  up: T;
  d: SiteTape<T>;
}

/** Why a block cannot train: a quantizer or a fold the backward does not follow. */
export function untrainable<T>(w: BlockWeights<T>): string | null {
  if (w.attnNorm.perm || w.ffnNorm.perm) return 'a reordered norm (RPTQ)';
  if (w.probLevels) return 'quantized attention probabilities';
  for (const q of Object.values(w.act ?? {})) if (q && !isTokenQuant(q)) return 'static activation quantizers (RPTQ)';
  return null;
}

export class BlockGrad<T> {
  private readonly H: number;
  private readonly HKV: number;
  private readonly D: number;

  constructor(
    readonly be: Backend<T>,
    readonly cfg: ModelConfig,
    /** rotary tables [positions, D/2] (absent: learned positions, OPT) */
    readonly rope: { cos: T; sin: T } | null,
  ) {
    ({ heads: this.H, kvHeads: this.HKV, headDim: this.D } = cfg);
  }

  private norm(x: T, n: Norm<T>): T {
    const { be, cfg } = this;
    return familyOf(cfg).norm === 'layer' ? be.layerNorm(x, n.g, n.b!, cfg.normEps) : be.rmsNorm(x, n.g, cfg.normEps);
  }

  private normGrad(x: T, n: Norm<T>, dy: T): T {
    const { be, cfg } = this;
    return familyOf(cfg).norm === 'layer'
      ? be.train.layerNormGrad(x, n.g, dy, cfg.normEps)
      : be.train.rmsNormGrad(x, n.g, dy, cfg.normEps);
  }

  /** x through a site's rotations (x is released) and, kept aside, its quantizer. */
  private site(x: T, w: BlockWeights<T>, site: ActSite): SiteTape<T> {
    const { be } = this;
    for (const r of w.rotations?.[site] ?? []) {
      const y = be.blockRotate(x, r.R, r.n, r.perm);
      be.release(x);
      x = y;
    }
    const quant = w.act?.[site] as TokenQuant | undefined;
    if (!quant) return { raw: null, read: x, quant };
    const read = be.rows(x, 0, be.shape(x)[0]);
    be.tokenQuant(read, quant.group, quant.maxq, quant.lac);
    return { raw: x, read, quant };
  }

  /** d(site input) from d(what the next op read): through the quantizer, then the rotations in reverse. */
  private siteGrad(s: SiteTape<T>, dRead: T, w: BlockWeights<T>, site: ActSite): T {
    const { be } = this;
    let d = dRead;
    if (s.quant) {
      d = be.train.tokenQuantGrad(s.raw!, dRead, s.quant.group, s.quant.maxq, s.quant.lac);
      be.release(dRead);
    }
    for (const r of [...(w.rotations?.[site] ?? [])].reverse()) {
      const dx = be.train.blockRotateGrad(d, r.R, r.n, r.perm as Ids<T> | null);
      be.release(d);
      d = dx;
    }
    return d;
  }

  private releaseSite(s: SiteTape<T>): void {
    this.be.release(s.raw);
    this.be.release(s.read);
  }

  /**
   * The block on one causal window x [T, C] (left as it is): its output (a new tensor) and the tape. The same values
   * as Decoder.block on the same weights.
   */
  forward(w: BlockWeights<T>, x: T): { out: T; tape: BlockTape<T> } {
    const { be, cfg, H, HKV, D } = this;
    const L = w.linears;
    const a = this.site(this.norm(x, w.attnNorm), w, 'attn_norm');
    const proj = (role: LinearRole, input: T) => be.matmul(input, denseW(L[role]!, 'training'), L[role]!.b);
    const q0 = proj('q', a.read);
    const k0 = proj('k', a.read);
    const v0 = proj('v', a.read);
    if (this.rope) {
      be.rope(this.rope.cos, this.rope.sin, q0, H, D);
      be.rope(this.rope.cos, this.rope.sin, k0, HKV, D);
    }
    const q = this.site(q0, w, 'q');
    const k = this.site(k0, w, 'k');
    const v = this.site(v0, w, 'v');
    const o = this.site(be.attention(q.read, k.read, v.read, H, HKV, D, 1 / Math.sqrt(D)), w, 'o_in');
    const x1 = proj('o', o.read);
    be.add(x, x1);
    const f = this.site(this.norm(x1, w.ffnNorm), w, 'ffn_norm');
    let gate: T | null = null;
    let up: T;
    let u: T;
    if (familyOf(cfg).mlp === 'gated') {
      gate = proj('gate', f.read);
      up = proj('up', f.read);
      u = be.siluMul(gate, up);
    } else {
      // ReLU's gradient reads its output, GELU's its input: the tape keeps that one
      up = proj('up', f.read);
      if (cfg.activation === 'relu') be.relu(up);
      u = be.rows(up, 0, be.shape(up)[0]);
      if (cfg.activation !== 'relu') be.gelu(u);
    }
    const d = this.site(u, w, 'down_in');
    const out = proj('down', d.read);
    be.add(x1, out);
    return { out, tape: { x1, a, q, k, v, o, f, gate, up, d } };
  }

  /**
   * The weights' gradients [R, K] of every linear layer, given d(output) (released), by the tape (released) and the
   * block's weights as the forward read them.
   */
  backward(w: BlockWeights<T>, tape: BlockTape<T>, dOut: T): Record<LinearRole, T> {
    const { be, cfg, H, HKV, D } = this;
    const L = w.linears;
    const dW = {} as Record<LinearRole, T>;
    const t = tape;
    /** dW of a layer from its output's gradient and its input; d(input) when asked */
    const linear = (role: LinearRole, dy: T, input: T, wantInput: boolean): T | null => {
      dW[role] = be.train.matmulGradW(dy, input);
      return wantInput ? be.train.matmulGradX(dy, denseW(L[role]!, 'training')) : null;
    };

    // MLP: out = x1 + down(site(act(up(site(norm(x1))))))
    const dd = this.siteGrad(t.d, linear('down', dOut, t.d.read, true)!, w, 'down_in');
    let dF: T;
    if (t.gate) {
      const { dGate, dUp } = be.train.siluMulGrad(t.gate, t.up, dd);
      be.release(dd);
      dF = linear('gate', dGate, t.f.read, true)!;
      const dFu = linear('up', dUp, t.f.read, true)!;
      be.add(dFu, dF);
      for (const x of [dGate, dUp, dFu]) be.release(x);
    } else {
      if (cfg.activation === 'relu') be.train.reluGrad(t.up, dd);
      else be.train.geluGrad(t.up, dd);
      dF = linear('up', dd, t.f.read, true)!;
      be.release(dd);
    }
    const dN2 = this.siteGrad(t.f, dF, w, 'ffn_norm');
    // the residual: d(x1) = d(out) + the norm's share; x1 = x + o(...)
    const dX1 = this.normGrad(t.x1, w.ffnNorm, dN2);
    be.release(dN2);
    be.add(dOut, dX1);
    be.release(dOut);

    // attention: x1 = x + o(site(attention(q, k, v)))
    const dAttn = this.siteGrad(t.o, linear('o', dX1, t.o.read, true)!, w, 'o_in');
    be.release(dX1);
    const { dq, dk, dv } = be.train.attentionGrad(t.q.read, t.k.read, t.v.read, dAttn, H, HKV, D, 1 / Math.sqrt(D));
    be.release(dAttn);
    const dQ = this.siteGrad(t.q, dq, w, 'q');
    const dK = this.siteGrad(t.k, dk, w, 'k');
    const dV = this.siteGrad(t.v, dv, w, 'v');
    if (this.rope) {
      be.train.ropeGrad(this.rope.cos, this.rope.sin, dQ, H, D);
      be.train.ropeGrad(this.rope.cos, this.rope.sin, dK, HKV, D);
    }
    for (const [role, dy] of [
      ['q', dQ],
      ['k', dK],
      ['v', dV],
    ] as const) {
      linear(role, dy, t.a.read, false);
      be.release(dy);
    }
    this.releaseTape(t);
    for (const role of linearRoles(cfg)) if (!dW[role]) throw new Error(`blockGrad: no gradient for ${role}`);
    return dW;
  }

  /** A tape's tensors back to the backend (the block's input stays the caller's). */
  releaseTape(t: BlockTape<T>): void {
    for (const s of [t.a, t.q, t.k, t.v, t.o, t.f, t.d]) this.releaseSite(s);
    this.be.release(t.gate);
    this.be.release(t.up);
    this.be.release(t.x1);
  }
}
