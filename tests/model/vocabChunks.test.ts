// Any vocabulary (issue 14): embedding and lm_head in row chunks that each fit the adapter's binding limit, with the
// log-softmax computed across chunks online. A forced 1 MiB limit splits opt-tiny-bpe's 50272 × 128 vocabulary into
// 13 chunks; perplexity and zero-shot log-likelihoods stay those of the whole matrix.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gpuBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { perplexity, tokenizeEval } from '../../src/eval/perplexity.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { scoreItems } from '../../src/eval/zeroShot.ts';
import { parseTask } from '../../src/eval/zeroShotTasks.ts';
import { MODELS, SHARED, loadFixture, sharedGpu } from '../helpers.ts';

describe('vocabulary in row chunks', () => {
  it('opt-tiny-bpe under a 1 MiB binding limit: 13 chunks, the same perplexity and zero-shot scores', async () => {
    const m = await loadFixture(MODELS.optTinyBpe);
    const be = gpuBackend(await sharedGpu());
    const small = { ...be, maxTensorBytes: 2 ** 20 };
    const whole = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
    const chunked = new Decoder(small, m.config, new WeightStore(small, m.config, m.checkpoint));
    const g = await chunked.weights.global();
    // f16 storage (the checkpoint's): 4096 rows of 128 halves per MiB
    expect(g.embedTokens.parts).toHaveLength(Math.ceil(50272 / Math.floor(2 ** 20 / (128 * 2))));
    expect((await whole.weights.global()).embedTokens.parts).toHaveLength(1);
    const ids = tokenizeEval(m.tokenizer, await evalText('wikitext2', folderReader(), 256));
    const [a, b] = [
      await perplexity(whole, ids, 256, { windows: 1 }),
      await perplexity(chunked, ids, 256, { windows: 1 }),
    ];
    console.log(`opt-tiny-bpe wikitext2 1×256: whole ${a.ppl}, 13 chunks ${b.ppl}`);
    expect(Math.abs(b.ppl / a.ppl - 1)).toBeLessThan(1e-5);
    const items = parseTask(
      'hellaswag',
      readFileSync(`${SHARED}data/zeroshot/hellaswag.jsonl`, 'utf8'),
      'hellaswag',
      3,
    );
    const [x, y] = [
      await scoreItems(whole, m.tokenizer, 'hellaswag', items),
      await scoreItems(chunked, m.tokenizer, 'hellaswag', items),
    ];
    for (const [i, it] of x.entries())
      for (const [c, r] of it.entries()) expect(Math.abs(r.ll - y[i][c].ll)).toBeLessThan(1e-4);
  });
});
