// Issue 13 groundwork: requests encoded as lm-eval's _encode_pair on the real OPT tokenizer (opt-tiny-bpe) and the
// LLaMA one (stories260K): no special tokens, the trailing-space rule, continuation = whole[len(ctx):].
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePair, itemRequests } from '../../src/eval/zeroShotRequests.ts';
import { parseTask } from '../../src/eval/zeroShotTasks.ts';
import { MODELS, SHARED, loadFixture } from '../helpers.ts';

describe('zero-shot requests', () => {
  it.each([
    ['opt-tiny-bpe', MODELS.optTinyBpe],
    ['stories260K', MODELS.stories260K],
  ])('%s: no special tokens; the pair concatenates to encode(context + continuation)', async (_, path) => {
    const tok = (await loadFixture(path)).tokenizer;
    const plain = tok.encodePlain('Answer: yes');
    expect(tok.encode('Answer: yes').length).toBe(plain.length + 1); // encode adds BOS, encodePlain does not
    const [piqa] = parseTask('piqa', readFileSync(`${SHARED}data/zeroshot/piqa.jsonl`, 'utf8'), 'piqa', 1);
    for (const [i, r] of itemRequests(tok, piqa).entries()) {
      expect([...r.context, ...r.continuation]).toEqual([...tok.encodePlain(piqa.contexts[i] + piqa.continuations[i])]);
      expect([...r.context]).toEqual([...tok.encodePlain(piqa.contexts[i])]);
      // SentencePiece's decode drops a leading space at the start of a sequence; GPT-2's keeps it
      expect(tok.decode(r.continuation).trimStart()).toBe(piqa.continuations[i].trimStart());
    }
  });

  it('a trailing space of the context moves to the continuation (opt-tiny-bpe, GPT-2 BPE)', async () => {
    const tok = (await loadFixture(MODELS.optTinyBpe)).tokenizer;
    const a = encodePair(tok, 'The cat sat on the ', 'mat');
    const b = encodePair(tok, 'The cat sat on the', ' mat');
    expect([...a.context]).toEqual([...b.context]);
    expect([...a.continuation]).toEqual([...b.continuation]);
    expect(tok.decode(a.continuation)).toBe(' mat');
    expect(() => encodePair(tok, '', ' mat')).toThrow(/empty context/);
  });
});
