// Tokenizers through @huggingface/tokenizers against known ids (shared/README.md).
import { describe, expect, it } from 'vitest';
import { loadTokenizer } from '../../src/model/tokenizer.ts';
import type { ModelSource } from '../../src/model/source.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { readFileSync } from 'node:fs';
import { MODELS, SHARED } from '../helpers.ts';

/** a source holding a tokenizer.json and, optionally, a tokenizer_config.json */
function single(path: string, config?: object): ModelSource {
  const files: Record<string, Buffer> = { 'tokenizer.json': readFileSync(path) };
  if (config) files['tokenizer_config.json'] = Buffer.from(JSON.stringify(config));
  return {
    id: path,
    open: async (f) => {
      const bytes = files[f];
      return bytes
        ? {
            size: bytes.length,
            read: async (b, e) => bytes.buffer.slice(bytes.byteOffset + b, bytes.byteOffset + e) as ArrayBuffer,
          }
        : null;
    },
  };
}

describe('tokenizers', () => {
  it('GPT-2: "Hello world" → 15496, 995', async () => {
    const tok = await loadTokenizer(single(`${SHARED}tokenizers/gpt2.tokenizer.json`));
    expect(Array.from(tok.encode('Hello world'))).toEqual([15496, 995]);
    const noBos = await loadTokenizer(
      single(`${SHARED}tokenizers/gpt2.tokenizer.json`, { add_bos_token: false, bos_token: '<|endoftext|>' }),
    );
    expect(Array.from(noBos.encode('Hello world'))).toEqual([15496, 995]);
  });

  it('OPT prepends BOS </s>: "Hello world" → 2, 31414, 232 (shared tokenizer and opt-tiny-bpe)', async () => {
    // facebook/opt-*'s tokenizer_config.json: BOS comes from add_bos_token, not from a template in tokenizer.json
    const tok = await loadTokenizer(
      single(`${SHARED}tokenizers/opt.tokenizer.json`, { add_bos_token: true, bos_token: '</s>' }),
    );
    expect(Array.from(tok.encode('Hello world'))).toEqual([2, 31414, 232]);
    const model = await loadTokenizer(folderSource(MODELS.optTinyBpe));
    expect(Array.from(model.encode('Hello world'))).toEqual([2, 31414, 232]);
  });

  it('stories260K adds <s> = 1 once and round-trips text', async () => {
    const tok = await loadTokenizer(folderSource(MODELS.stories260K));
    const ids = tok.encode('Once upon a time');
    expect(ids[0]).toBe(1);
    expect(Array.from(ids).filter((i) => i === 1).length).toBe(1);
    expect(tok.decode(ids.subarray(1)).trim()).toBe('Once upon a time');
  });
});
