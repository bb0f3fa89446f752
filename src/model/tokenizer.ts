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
  decode(ids: ArrayLike<number>): string;
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

export function fromJson(json: Json, config: Json): TextTokenizer {
  const tok = new Tokenizer(json as never, config as never);
  const bos = config.add_bos_token === true ? tokenId(json, config.bos_token) : null;
  return {
    encode(text) {
      const ids = tok.encode(text).ids;
      if (bos !== null && ids[0] !== bos) ids.unshift(bos);
      return Uint32Array.from(ids);
    },
    encodePlain: (text) => Uint32Array.from(tok.encode(text, { add_special_tokens: false }).ids),
    decode: (ids) => tok.decode(Array.from(ids)),
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
