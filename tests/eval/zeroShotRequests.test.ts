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

  it('hand-checked requests on the real OPT tokenizer: ids, winogrande partial contexts, lambada split, boolq', async () => {
    const tok = (await loadFixture(MODELS.optTinyBpe)).tokenizer;
    const ids = (t: string) =>
      parseTask(t as 'piqa', readFileSync(`${SHARED}data/zeroshot/${t}.jsonl`, 'utf8'), t, 1)[0];
    const pieces = (xs: Uint32Array) => [...xs].map((i) => tok.decode(Uint32Array.of(i)));
    // OPT's ids (shared/tokenizers README: "Hello world" with BOS → 2, 31414, 232); no BOS here
    const hw = encodePair(tok, 'Hello', ' world');
    expect([[...hw.context], [...hw.continuation]]).toEqual([[31414], [232]]);
    // winogrande: one context per option, the same continuation after each (partial scoring)
    const [a, b] = itemRequests(tok, ids('winogrande'));
    expect([...a.continuation]).toEqual([460, 300, 5, 3013, 1200, 4]);
    expect(pieces(a.continuation)).toEqual([' always', ' got', ' the', ' easier', ' cases', '.']);
    expect([...b.continuation]).toEqual([...a.continuation]);
    expect(pieces(a.context.slice(-2))).toEqual([' so', ' Sarah']);
    expect(pieces(b.context.slice(-2))).toEqual([' so', ' Maria']);
    expect([...a.context.slice(0, -1)]).toEqual([...b.context.slice(0, -1)]);
    // lambada: the context up to the last space, " " + the last word
    const [lam] = itemRequests(tok, ids('lambada_openai'));
    expect([...lam.continuation]).toEqual([2434]);
    expect(pieces(lam.context.slice(-3))).toEqual(["'t", ' care', ' about']);
    // boolq: "...?\nAnswer:" then " no" / " yes"
    const [no, yes] = itemRequests(tok, ids('boolq'));
    expect([...no.context.slice(-4)]).toEqual([116, 50118, 33683, 35]);
    expect([[...no.continuation], [...yes.continuation]]).toEqual([[117], [4420]]);
  });
});
