// Text the model writes: the prompt in one step (prefill), then one token per step against the KV cache, each chosen
// by the Sampler, until EOS or maxNewTokens. The decoder is the one evaluation uses, so a quantized model's text is
// what its perplexity measures. Text streams as it is decoded: a piece that ends inside a UTF-8 character (byte-
// fallback tokens, a multi-byte character split across tokens) is held until the character is whole.
import type { Decoder } from '../model/forward.ts';
import { KvCache } from '../model/kvCache.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import { CancelledError } from '../errors.ts';
import { Sampler, logProb, type SamplingSettings } from './sampling.ts';

export interface GenerateSettings extends SamplingSettings {
  maxNewTokens: number;
}

export interface Generation {
  /** the new tokens (an EOS that stopped it included) */
  ids: number[];
  /** their text, without special tokens */
  text: string;
  /**
   * the text each new token completed, as it streamed: '' for a token that ends inside a character (its bytes show
   * with the token that completes it), '' for EOS; joined, the text
   */
  tokenTexts: string[];
  /** log p of each new token under the model that chose it (before the sampling's changes) */
  logProbs: number[];
  stop: 'eos' | 'length';
  /** time to the first token (prefill), and new tokens per second after it */
  prefillMs: number;
  tokensPerSecond: number;
}

export interface GenerateOptions {
  /** false: every step runs the whole sequence again, no cache (to check the cache against) */
  cache?: boolean;
  eos?: number[];
  /** each piece of text as it becomes whole, with the tokens so far */
  onText?: (piece: string, ids: number[]) => void;
  signal?: AbortSignal;
}

/** Holds text back while it ends in an unfinished UTF-8 character; hands out what is new. */
export class TextStream {
  private shown = 0;
  private readonly base: string;
  constructor(
    private readonly tok: TextTokenizer,
    private readonly prompt: ArrayLike<number>,
  ) {
    this.base = tok.decode(prompt, { skipSpecial: true });
  }
  /** the text of the prompt and new ids, less the prompt's own: a SentencePiece word's leading space survives */
  text(ids: number[]): string {
    const full = this.tok.decode([...Array.from(this.prompt), ...ids], { skipSpecial: true });
    return full.startsWith(this.base) ? full.slice(this.base.length) : this.tok.decode(ids, { skipSpecial: true });
  }
  /** what became whole since the last call ('' while a character is unfinished) */
  push(ids: number[]): string {
    const t = this.text(ids);
    if (t.endsWith('\uFFFD')) return '';
    const piece = t.slice(this.shown);
    this.shown = t.length;
    return piece;
  }
}

export async function generate<T>(
  dec: Decoder<T>,
  tok: TextTokenizer,
  prompt: Uint32Array,
  settings: GenerateSettings,
  opts: GenerateOptions = {},
): Promise<Generation> {
  if (prompt.length === 0) throw new Error('generation needs a prompt of at least one token');
  // a sliding-window model (Phi-3) is run as the lab evaluates it: never past its window, so nothing is masked
  const room = Math.min(dec.cfg.maxPositions, dec.cfg.slidingWindow ?? Infinity);
  const max = Math.min(settings.maxNewTokens, room - prompt.length);
  if (max < 1) throw new Error(`the prompt's ${prompt.length} tokens leave no room in the model's ${room} positions`);
  const sampler = new Sampler(settings);
  const eos = new Set(opts.eos ?? dec.cfg.eosTokenIds);
  const stream = new TextStream(tok, prompt);
  const seq = Array.from(prompt);
  const ids: number[] = [];
  const logProbs: number[] = [];
  const tokenTexts: string[] = [];
  const cache = opts.cache === false ? null : new KvCache(dec.be, dec.cfg, prompt.length + max);
  const t0 = performance.now();
  let prefillMs = 0;
  let stop: Generation['stop'] = 'length';
  try {
    let input = prompt;
    while (ids.length < max) {
      if (opts.signal?.aborted) throw new CancelledError('generation cancelled');
      const logits = cache ? await dec.step(input, cache) : await lastLogits(dec, Uint32Array.from(seq));
      if (ids.length === 0) prefillMs = performance.now() - t0;
      const id = sampler.next(logits, seq);
      ids.push(id);
      seq.push(id);
      logProbs.push(logProb(logits, id));
      const piece = stream.push(ids.filter((i) => !eos.has(i)));
      tokenTexts.push(piece);
      if (piece) opts.onText?.(piece, ids);
      if (eos.has(id)) {
        stop = 'eos';
        break;
      }
      input = Uint32Array.of(id);
    }
  } finally {
    cache?.release();
  }
  const decodeMs = performance.now() - t0 - prefillMs;
  return {
    ids,
    text: stream.text(ids.filter((i) => !eos.has(i))),
    tokenTexts,
    logProbs,
    stop,
    prefillMs,
    tokensPerSecond: ids.length > 1 ? ((ids.length - 1) * 1000) / decodeMs : 0,
  };
}

/**
 * log p of each token of a continuation given the prompt and the tokens before it, under a decoder (teacher-forced,
 * one forward over the whole sequence): how likely the other model finds a model's text.
 */
export async function continuationLogProbs<T>(dec: Decoder<T>, prompt: Uint32Array, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const seq = Uint32Array.from([...Array.from(prompt), ...ids]);
  const nll = await dec.windowNll(seq);
  return Array.from(nll.subarray(prompt.length - 1), (x) => -x);
}

async function lastLogits<T>(dec: Decoder<T>, seq: Uint32Array): Promise<Float32Array> {
  const h = await dec.hidden(seq);
  try {
    return await dec.lastLogits(h);
  } finally {
    dec.be.release(h);
  }
}
