// tokenizer.json + tokenizer_config.json through @huggingface/tokenizers. BOS is added once per encode call: by the
// tokenizer's own post-processor (LLaMA's <s>, opt-tiny-bpe's </s> template) or, where tokenizer.json has no such
// template, by tokenizer_config.json's add_bos_token, as transformers does for OPT's GPT2Tokenizer.
import { Tokenizer } from '@huggingface/tokenizers';
import { MissingFileError } from '../errors.ts';
import { readJson, type ModelSource } from './source.ts';

export interface TextTokenizer {
  encode(text: string): Uint32Array;
  /** without special tokens (no BOS): how lm-evaluation-harness encodes zero-shot requests */
  encodePlain(text: string): Uint32Array;
  /** skipSpecial: without BOS/EOS and other special tokens (generated text as a reader sees it) */
  decode(ids: ArrayLike<number>, opts?: { skipSpecial?: boolean }): string;
}

type Json = Record<string, any>;

export async function loadTokenizer(source: ModelSource): Promise<TextTokenizer> {
  const json = await readJson(source, 'tokenizer.json', false);
  if (!json) {
    throw new MissingFileError(
      `${source.id}: tokenizer.json not found; the lab needs the model's fast-tokenizer file to tokenize text`,
    );
  }
  const config = (await readJson(source, 'tokenizer_config.json', false)) ?? {};
  return fromJson(json, config);
}

/**
 * Encoded texts of the last few (tokenizer, text) pairs: every run of an experiment re-reads the same calibration and
 * evaluation texts (megabytes each, seconds to tokenize), and a re-run or the next run in a session needs them again.
 */
const ENCODED = new Map<string, Uint32Array>();
const ENCODED_KEEP = 8;

export function fromJson(json: Json, config: Json): TextTokenizer {
  const tok = new Tokenizer(json as never, config as never);
  const bos = config.add_bos_token === true ? tokenId(json, config.bos_token) : null;
  const fingerprint = digest(`${JSON.stringify(json)}\u0000${JSON.stringify(config)}`);
  return {
    encode(text) {
      const key = `${fingerprint}\u0000${text}`;
      const hit = ENCODED.get(key);
      if (hit) return hit.slice();
      const ids = tok.encode(text).ids;
      if (bos !== null && ids[0] !== bos) ids.unshift(bos);
      const out = Uint32Array.from(ids);
      if (text.length > 4096) {
        ENCODED.set(key, out.slice());
        if (ENCODED.size > ENCODED_KEEP) ENCODED.delete(ENCODED.keys().next().value!);
      }
      return out;
    },
    encodePlain: (text) => Uint32Array.from(tok.encode(text, { add_special_tokens: false }).ids),
    decode: (ids, opts) => tok.decode(Array.from(ids), { skip_special_tokens: opts?.skipSpecial ?? false }),
  };
}

/** id of a special token named in tokenizer_config (a string or {content}) */
function tokenId(json: Json, token: unknown): number | null {
  const content = typeof token === 'string' ? token : (token as Json | null)?.content;
  if (typeof content !== 'string') return null;
  const added = (json.added_tokens as Json[] | undefined)?.find((t) => t.content === content);
  if (added) return added.id;
  const id = json.model?.vocab?.[content];
  return typeof id === 'number' ? id : null;
}

/** FNV-1a over the UTF-16 code units, two 32-bit lanes: a short key for a tokenizer (not a security boundary) */
function digest(s: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}.${s.length}`;
}
