// Keys and values of every block for the tokens decoded so far, so a new token runs through the blocks alone.
// The rows are stored as attention reads them: after RoPE at their own positions and after the block's K/V sites
// (RPTQ's static clusters and KV quantization, DuQuant's rotations and per-token quantizers), which act on each token
// by itself — so a cached row is bit for bit the row a full forward over the whole sequence computes.
import type { Backend, Ids } from '../gpu/backend.ts';
import type { ModelConfig } from './config.ts';

export class KvCache<T> {
  private readonly k: T[] = [];
  private readonly v: T[] = [];
  /** tokens whose keys and values every block holds */
  length = 0;

  constructor(
    private readonly be: Backend<T>,
    private readonly cfg: ModelConfig,
    /** the most tokens it holds (prompt and new tokens), at most the model's positions */
    readonly capacity: number,
  ) {
    if (capacity > cfg.maxPositions)
      throw new Error(`a KV cache of ${capacity} tokens exceeds the model's ${cfg.maxPositions} positions`);
  }

  /** the keys and values of one block, [capacity, HKV·D] each */
  block(layer: number): { k: T; v: T } {
    const width = this.cfg.kvHeads * this.cfg.headDim;
    this.k[layer] ??= this.be.zeros([this.capacity, width]);
    this.v[layer] ??= this.be.zeros([this.capacity, width]);
    return { k: this.k[layer], v: this.v[layer] };
  }

  /** stores a step's keys and values [T, HKV·D] at rows pos0.. */
  write(layer: number, pos0: number, k: T, v: T): void {
    const rows = this.be.shape(k)[0];
    if (pos0 + rows > this.capacity)
      throw new Error(`the KV cache holds ${this.capacity} tokens; ${pos0 + rows} were asked for`);
    const slot = this.block(layer);
    this.be.writeRows(slot.k, pos0, k);
    this.be.writeRows(slot.v, pos0, v);
  }

  /** bytes the cache takes on the backend once every block is written */
  get bytes(): number {
    return 2 * this.cfg.layers * this.capacity * this.cfg.kvHeads * this.cfg.headDim * 4;
  }

  release(): void {
    for (const t of [...this.k, ...this.v]) this.be.release(t);
    this.k.length = 0;
    this.v.length = 0;
    this.length = 0;
  }
}

/** Where a step of T tokens from position pos0 sits: its cache and the attention layout its queries read. */
export interface CacheStep<T> {
  cache: KvCache<T>;
  pos0: number;
  /** per query t: keys [0, pos0 + t] of the cache (a context range, an empty own segment) and position pos0 + t */
  layout: Ids<T>;
}

/** attention's packed layout (x, y, z, position) for T queries after pos0 cached tokens */
export function cacheLayout(pos0: number, T: number): Uint32Array {
  const out = new Uint32Array(4 * T);
  for (let t = 0; t < T; t++) out.set([0, pos0 + t + 1, t + 1, pos0 + t], 4 * t);
  return out;
}
