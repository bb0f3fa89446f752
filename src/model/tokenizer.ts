// tokenizer.json + tokenizer_config.json through @huggingface/tokenizers. The tokenizer's own post-processor
// decides BOS handling (LLaMA's <s>, OPT's </s>), applied once per encode call.
import { Tokenizer } from '@huggingface/tokenizers';
import { MissingFileError } from '../errors.ts';
import { readJson, type ModelSource } from './source.ts';

export interface TextTokenizer {
  encode(text: string): Uint32Array;
  decode(ids: ArrayLike<number>): string;
}

export async function loadTokenizer(source: ModelSource): Promise<TextTokenizer> {
  const json = await readJson(source, 'tokenizer.json', false);
  if (!json) {
    throw new MissingFileError(`${source.id}: tokenizer.json not found; the lab needs the model's fast-tokenizer file to tokenize text`);
  }
  const config = (await readJson(source, 'tokenizer_config.json', false)) ?? {};
  const tok = new Tokenizer(json as never, config as never);
  return {
    encode: (text) => Uint32Array.from(tok.encode(text).ids),
    decode: (ids) => tok.decode(Array.from(ids)),
  };
}
