// The decoder forward pass, written once for both backends and every family (families.ts says its norm and MLP).
// It runs block by block and calls named hook points (taps.ts) that later stages attach to: every norm output and
// every linear layer's input/output.
import { NonFiniteError } from '../errors.ts';
import { familyOf, type LinearRole } from './families.ts';
import type { ModelConfig } from './config.ts';
import { tapIn, tapOut, type ActSite, type Tap } from './taps.ts';
import { isTokenQuant, type AnyLinear, type BlockWeights, type WeightStore } from './weights.ts';
import type { Backend, Ids } from '../gpu/backend.ts';
import { cacheLayout, type CacheStep, type KvCache } from './kvCache.ts';

export type { Tap, TapPoint } from './taps.ts';

/** matmulPacked's rounding of a dequantized weight, by the dense copy's storage */
const ROUND = { f32: 0, f16: 1, bf16: 2 } as const;

export interface ForwardOptions<T> {
  taps?: Tap<T>;
  /** check each block's output for NaN/Inf and name the first block where one appears */
  checkFinite?: boolean;
  /**
   * Packed token trees ([T, 4] u32 per token: context keys [x, y), own segment from z, position w): several
   * sequences sharing prefixes in one forward (zero-shot scoring). Absent: one causal sequence at positions 0..T−1.
   */
  layout?: Uint32Array;
}

/** Log-likelihood of scored rows, summed per request on the backend: only these come back to the host. */
export interface RequestScores {
  /** Σ log p(target) over each request's rows */
  ll: Float32Array;
  /** every row's target was the argmax */
  greedy: boolean[];
}

export class Decoder<T> {
  constructor(
    readonly be: Backend<T>,
    readonly cfg: ModelConfig,
    readonly weights: WeightStore<T>,
  ) {}

  /** hidden states after the embeddings: [T, C]; positions 0..T−1 unless given (packed trees) */
  async embed(ids: Uint32Array, positions?: Uint32Array): Promise<T> {
    const { be, cfg } = this;
    const g = await this.weights.global();
    const idsT = be.ids(ids);
    // each row chunk of the vocabulary gathers its own ids
    const { parts, starts } = g.embedTokens;
    const h = parts.length === 1 ? be.embed(parts[0], idsT) : be.zeros([ids.length, cfg.hidden]);
    if (parts.length > 1) parts.forEach((E, i) => be.embed(E, idsT, h, starts[i]));
    be.release(idsT);
    if (g.embedPositions) {
      const pos = be.ids(Uint32Array.from(ids, (_, t) => (positions ? positions[t] : t) + cfg.positionOffset));
      const p = be.embed(g.embedPositions, pos);
      be.add(p, h);
      be.release(p);
      be.release(pos);
    }
    return h;
  }

  private async linear(layer: number, role: LinearRole, lin: AnyLinear<T>, x: T, taps?: Tap<T>): Promise<T> {
    if (taps) await taps(layer, tapIn(role), x);
    const p = lin.packed;
    const y = p
      ? this.be.matmulPacked(x, p.codes, p.zeros, p.scales, p.gIdx, lin.b, p.bits, p.N, p.K, ROUND[p.round])
      : this.be.matmul(x, lin.W, lin.b);
    if (taps) await taps(layer, tapOut(role), y);
    return y;
  }

  private norm(x: T, n: BlockWeights<T>['attnNorm']): T {
    const { be, cfg } = this;
    return familyOf(cfg).norm === 'layer'
      ? be.layerNorm(x, n.g, n.b!, cfg.normEps, n.perm)
      : be.rmsNorm(x, n.g, cfg.normEps, n.perm);
  }

  /**
   * x as the block reads it at a site: through the site's online rotations (a new tensor; x is released), then
   * fake-quantized in place when the block quantizes activations there.
   */
  private site(x: T, w: BlockWeights<T>, site: ActSite): T {
    const { be } = this;
    for (const r of w.rotations?.[site] ?? []) {
      const y = be.blockRotate(x, r.R, r.n, r.perm);
      be.release(x);
      x = y;
    }
    const a = w.act?.[site];
    if (a) {
      if (isTokenQuant(a)) be.tokenQuant(x, a.group, a.maxq, a.lac);
      else be.actQuant(x, a);
    }
    return x;
  }

  /**
   * One decoder block, in place on h [T, C]. With an activation plan (RPTQ), activations are fake-quantized at the
   * sites of ActSite; the taps see each tensor as the next op reads it, except `q.out`/`k.out`/`v.out`
   * and the rotary taps `q_rope`/`k_rope`, which see q, k, v before quantization. With a cache step, h holds the
   * new tokens only: their keys and values join the cache and their queries read all of it.
   */
  async block(
    layer: number,
    h: T,
    w: BlockWeights<T>,
    taps?: Tap<T>,
    layout: Ids<T> | null = null,
    step: CacheStep<T> | null = null,
  ): Promise<void> {
    const { be, cfg } = this;
    const { heads: H, kvHeads: HKV, headDim: D } = cfg;
    const L = w.linears;

    // attention
    const a = this.site(this.norm(h, w.attnNorm), w, 'attn_norm');
    if (taps) await taps(layer, 'attn_norm', a);
    let q: T = await this.linear(layer, 'q', L.q!, a, taps);
    let k: T = await this.linear(layer, 'k', L.k!, a, taps);
    let v: T = await this.linear(layer, 'v', L.v!, a, taps);
    be.release(a);
    if (cfg.rope) {
      const g = await this.weights.global();
      be.rope(g.rope!.cos, g.rope!.sin, q, H, D, step?.pos0 ?? 0, layout);
      be.rope(g.rope!.cos, g.rope!.sin, k, HKV, D, step?.pos0 ?? 0, layout);
      if (taps) await taps(layer, 'q_rope', q);
      if (taps) await taps(layer, 'k_rope', k);
    }
    q = this.site(q, w, 'q');
    k = this.site(k, w, 'k');
    v = this.site(v, w, 'v');
    const scale = 1 / Math.sqrt(D);
    let o: T;
    if (step) {
      step.cache.write(layer, step.pos0, k, v);
      const kv = step.cache.block(layer);
      o = be.attention(q, kv.k, kv.v, H, HKV, D, scale, w.probLevels ?? 0, step.layout);
    } else o = be.attention(q, k, v, H, HKV, D, scale, w.probLevels ?? 0, layout);
    be.release(q);
    be.release(k);
    be.release(v);
    o = this.site(o, w, 'o_in');
    const attnOut = await this.linear(layer, 'o', L.o!, o, taps);
    be.release(o);
    be.add(attnOut, h);
    be.release(attnOut);

    // MLP
    const f = this.site(this.norm(h, w.ffnNorm), w, 'ffn_norm');
    if (taps) await taps(layer, 'ffn_norm', f);
    let u: T;
    if (familyOf(cfg).mlp === 'gated') {
      const gate = await this.linear(layer, 'gate', L.gate!, f, taps);
      const up = await this.linear(layer, 'up', L.up!, f, taps);
      u = be.siluMul(gate, up);
      be.release(gate);
      be.release(up);
    } else {
      u = await this.linear(layer, 'up', L.up!, f, taps);
      if (cfg.activation === 'relu') be.relu(u);
      else be.gelu(u);
    }
    be.release(f);
    u = this.site(u, w, 'down_in');
    const mlpOut = await this.linear(layer, 'down', L.down!, u, taps);
    be.release(u);
    be.add(mlpOut, h);
    be.release(mlpOut);
  }

  /**
   * Row i of the normalized hidden states hn predicts targets[i]: (log p(target), target is the argmax) for each,
   * [N, 2] on the backend. lm_head runs in row chunks of hn and, within each, over the vocabulary's row chunks with
   * an online log-sum-exp, so neither [N, V] logits nor a whole lm_head binding is needed.
   */
  private async targetScores(hn: T, targets: Uint32Array): Promise<T> {
    const { be } = this;
    const { parts, starts } = (await this.weights.global()).lmHead;
    const N = targets.length;
    const scores = be.zeros([N, 2]);
    const widest = Math.max(...parts.map((_, i) => starts[i + 1] - starts[i]));
    // a step's logits [rows, part] take no more bytes than the lm_head part they come from: the evaluation's peak
    // memory follows the model's storage (half the logits with 16-bit weights), not the window length
    const partBytes = widest * this.cfg.hidden * (be.storage(parts[0]) === 'f32' ? 4 : 2);
    const chunk = Math.max(
      1,
      Math.min(N, Math.floor(Math.min(be.maxTensorBytes, 256 * 2 ** 20, partBytes) / (widest * 4))),
    );
    for (let r0 = 0; r0 < N; r0 += chunk) {
      const r1 = Math.min(N, r0 + chunk);
      const rows = r0 === 0 && r1 === be.shape(hn)[0] ? hn : be.rows(hn, r0, r1);
      const t = be.ids(targets.slice(r0, r1));
      const state = be.zeros([r1 - r0, 4]);
      parts.forEach((W, i) => {
        const logits = be.matmul(rows, W, null);
        be.vocabChunk(logits, t, state, starts[i]);
        be.release(logits);
      });
      be.finishScores(state, t, scores, r0);
      if (rows !== hn) be.release(rows);
      be.release(t);
      be.release(state);
    }
    return scores;
  }

  /** Final norm, lm_head and next-token NLL for every position but the last: [T − 1] values. */
  async nll(h: T, ids: Uint32Array): Promise<Float32Array> {
    const { be } = this;
    const g = await this.weights.global();
    const hn = this.norm(h, g.finalNorm);
    const scores = await this.targetScores(hn, ids.slice(1));
    be.release(hn);
    const host = await be.toHost(scores);
    be.release(scores);
    return Float32Array.from({ length: ids.length - 1 }, (_, t) => -host[2 * t]);
  }

  /**
   * Log-likelihoods of chosen rows without the logits leaving the backend: row rows[i] of the hidden states h
   * predicts targets[i]; request r owns rows [starts[r], starts[r + 1]). Final norm and lm_head run on those rows
   * only.
   */
  async scoreRows(h: T, rows: Uint32Array, targets: Uint32Array, starts: Uint32Array): Promise<RequestScores> {
    const { be } = this;
    const g = await this.weights.global();
    const rowIds = be.ids(rows);
    const picked = be.embed(h, rowIds);
    be.release(rowIds);
    const hn = this.norm(picked, g.finalNorm);
    be.release(picked);
    const scores = await this.targetScores(hn, targets);
    be.release(hn);
    const startIds = be.ids(starts);
    const sums = be.requestSums(scores, startIds);
    be.release(startIds);
    be.release(scores);
    const host = await be.toHost(sums);
    be.release(sums);
    const R = starts.length - 1;
    return {
      ll: Float32Array.from({ length: R }, (_, r) => host[2 * r]),
      greedy: Array.from({ length: R }, (_, r) => host[2 * r + 1] === 1),
    };
  }

  /** Embeddings and every block: the last hidden states [T, C] (a new tensor the caller releases). */
  async hidden(ids: Uint32Array, opts: ForwardOptions<T> = {}): Promise<T> {
    const { be } = this;
    const layout = opts.layout ? be.ids(opts.layout) : null;
    const h = await this.embed(ids, opts.layout ? Uint32Array.from(ids, (_, t) => opts.layout![4 * t + 3]) : undefined);
    try {
      for (let i = 0; i < this.cfg.layers; i++) {
        const w = await this.weights.block(i);
        await this.block(i, h, w, opts.taps, layout);
        this.weights.done(i, w);
        if (opts.checkFinite) {
          const bad = await be.countNonFinite(h);
          if (bad > 0)
            throw new NonFiniteError(`block ${i} produced ${bad} NaN/Inf values (first non-finite block: ${i})`);
        }
      }
    } catch (e) {
      be.release(h);
      throw e;
    } finally {
      be.release(layout);
    }
    return h;
  }

  /** The next-token logits of h's last row, [V] on the host: final norm, then every lm_head part. */
  async lastLogits(h: T): Promise<Float32Array> {
    const { be } = this;
    const g = await this.weights.global();
    const T = be.shape(h)[0];
    const last = be.rows(h, T - 1, T);
    const hn = this.norm(last, g.finalNorm);
    be.release(last);
    const { parts, starts } = g.lmHead;
    const logits = parts.map((W) => be.matmul(hn, W, null));
    be.release(hn);
    const host = await be.readMany(logits);
    for (const t of logits) be.release(t);
    const out = new Float32Array(this.cfg.vocab);
    host.forEach((part, i) => out.set(part.subarray(0, starts[i + 1] - starts[i]), starts[i]));
    return out;
  }

  /**
   * One decoding step: tokens at positions cache.length… run through every block against the cache, which keeps
   * their keys and values; the logits of the last one come back.
   */
  async step(ids: Uint32Array, cache: KvCache<T>): Promise<Float32Array> {
    const { be } = this;
    const pos0 = cache.length;
    if (pos0 + ids.length > cache.capacity)
      throw new Error(`the KV cache holds ${cache.capacity} tokens; ${pos0 + ids.length} were asked for`);
    const h = await this.embed(
      ids,
      Uint32Array.from(ids, (_, t) => pos0 + t),
    );
    const layout = be.ids(cacheLayout(pos0, ids.length));
    try {
      for (let i = 0; i < this.cfg.layers; i++) {
        const w = await this.weights.block(i);
        await this.block(i, h, w, undefined, null, { cache, pos0, layout });
        this.weights.done(i, w);
      }
      cache.length = pos0 + ids.length;
      return await this.lastLogits(h);
    } finally {
      be.release(layout);
      be.release(h);
    }
  }

  /** Whole window: embeddings, every block, NLL. */
  async windowNll(ids: Uint32Array, opts: ForwardOptions<T> = {}): Promise<Float32Array> {
    const h = await this.hidden(ids, opts);
    const nll = await this.nll(h, ids);
    this.be.release(h);
    return nll;
  }
}
