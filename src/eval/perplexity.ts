// Perplexity by the GPTQ/RPTQ protocol: tokenize once, cut floor(N / seqlen) non-overlapping windows (optionally
// the first k), score each on its own, ppl = exp(mean NLL over every scored token).
import type { Decoder } from '../model/forward.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import { CancelledError, DatasetError, NonFiniteError } from '../errors.ts';
import type { EvalText } from './datasets.ts';

export interface PerplexityProgress {
  window: number;
  windows: number;
  /** running perplexity over the windows scored so far */
  ppl: number;
}

export interface PerplexityResult {
  ppl: number;
  windows: number;
  tokens: number;
  nllSum: number;
}

/** Neumaier-compensated sum: hundreds of thousands of NLLs add up without losing digits. */
export class CompensatedSum {
  private sum = 0;
  private c = 0;
  add(x: number): void {
    const t = this.sum + x;
    this.c += Math.abs(this.sum) >= Math.abs(x) ? this.sum - t + x : x - t + this.sum;
    this.sum = t;
  }
  get value(): number {
    return this.sum + this.c;
  }
}

export function windowsOf(ids: Uint32Array, seqlen: number, limit?: number): Uint32Array[] {
  let n = Math.floor(ids.length / seqlen);
  if (limit !== undefined && limit > 0) n = Math.min(n, limit);
  return Array.from({ length: n }, (_, i) => ids.subarray(i * seqlen, (i + 1) * seqlen));
}

export function tokenizeEval(tok: TextTokenizer, t: EvalText): Uint32Array {
  const ids = tok.encode(t.text);
  return t.maxTokens !== undefined ? ids.slice(0, t.maxTokens) : ids;
}

/**
 * A window scored NaN/Inf: a non-finite figure is never reported. The window runs again with a check after every
 * block, which throws naming the first block that produced one; past the blocks it is the final norm or lm_head.
 */
async function nameNonFinite<T>(decoder: Decoder<T>, ids: Uint32Array, w: number): Promise<never> {
  await decoder.windowNll(ids, { checkFinite: true });
  throw new NonFiniteError(
    `window ${w + 1} scored a non-finite loss after the last block: the final norm or lm_head produced NaN/Inf`,
  );
}

export async function perplexity<T>(
  decoder: Decoder<T>,
  ids: Uint32Array,
  seqlen: number,
  opts: {
    windows?: number;
    onProgress?: (p: PerplexityProgress) => void;
    signal?: AbortSignal;
    checkFinite?: boolean;
  } = {},
): Promise<PerplexityResult> {
  const windows = windowsOf(ids, seqlen, opts.windows);
  if (windows.length === 0) {
    throw new DatasetError(`the text has ${ids.length} tokens, fewer than one window of ${seqlen}`);
  }
  const sum = new CompensatedSum();
  let tokens = 0;
  for (let w = 0; w < windows.length; w++) {
    if (opts.signal?.aborted) throw new CancelledError('perplexity cancelled');
    const nll = await decoder.windowNll(windows[w], { checkFinite: opts.checkFinite });
    if (!nll.every(Number.isFinite)) await nameNonFinite(decoder, windows[w], w);
    for (const v of nll) sum.add(v);
    tokens += nll.length;
    opts.onProgress?.({ window: w + 1, windows: windows.length, ppl: Math.exp(sum.value / tokens) });
  }
  return { ppl: Math.exp(sum.value / tokens), windows: windows.length, tokens, nllSum: sum.value };
}
