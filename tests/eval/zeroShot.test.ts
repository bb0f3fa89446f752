// Zero-shot scoring (issue 13): the GPU's packed token trees against the plain CPU reference (one sequence per
// request, the TypeScript twins), batching that changes nothing, lm-eval's truncation, and the aggregation.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gpuBackend, referenceBackend, type Backend } from '../../src/gpu/backend.ts';
import { cpu, finishScores, requestSums, vocabChunk } from '../../src/gpu/reference.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { aggregate, packTrees, scoreItems, type RequestResult } from '../../src/eval/zeroShot.ts';
import { itemRequests } from '../../src/eval/zeroShotRequests.ts';
import { parseTask, ZERO_SHOT_TASKS, type ZeroShotItem, type ZeroShotTask } from '../../src/eval/zeroShotTasks.ts';
import type { ModelConfig } from '../../src/model/config.ts';
import { MODELS, SHARED, loadFixture, relErr, sharedGpu } from '../helpers.ts';

const items = (task: ZeroShotTask, limit: number) =>
  parseTask(task, readFileSync(`${SHARED}data/zeroshot/${task}.jsonl`, 'utf8'), task, limit);

async function decoders(path: string, cfgOverride: Partial<ModelConfig> = {}) {
  const m = await loadFixture(path);
  const cfg = { ...m.config, ...cfgOverride };
  const make = <T>(be: Backend<T>) => new Decoder(be, cfg, new WeightStore(be, cfg, m.checkpoint));
  return { m, gpu: make(gpuBackend(await sharedGpu())), ref: make(referenceBackend()) };
}

const maxDiff = (a: RequestResult[][], b: RequestResult[][]) =>
  Math.max(...a.flatMap((it, i) => it.map((x, c) => Math.abs(x.ll - b[i][c].ll))));

describe('zero-shot scoring', () => {
  // acceptance 1 on few items, 2 per task (the benchmark runs the first 200 of every task): packed GPU scoring against one plain
  // CPU forward per request, log-likelihoods within 1e-3 and identical acc / acc_norm
  it.each([
    ['opt-tiny-bpe', MODELS.optTinyBpe],
    ['stories260K', MODELS.stories260K],
  ])('%s: every task, packed WebGPU scoring equals the plain CPU reference', async (_, path) => {
    const { m, gpu, ref } = await decoders(path);
    for (const task of ZERO_SHOT_TASKS) {
      const its = items(task, 2);
      const g = await scoreItems(gpu, m.tokenizer, task, its, { batch: 8 });
      const r = await scoreItems(ref, m.tokenizer, task, its, { share: false, batch: 1 });
      expect(maxDiff(g, r), task).toBeLessThan(1e-3);
      const [a, b] = [aggregate(task, its, g, 0), aggregate(task, its, r, 0)];
      expect([a.acc, a.accNorm], task).toEqual([b.acc, b.accNorm]);
      if (task === 'lambada_openai') expect(g.map((x) => x[0].greedy)).toEqual(r.map((x) => x[0].greedy));
    }
  });

  it('results do not depend on batching or on sharing the context (opt-tiny-bpe, hellaswag and winogrande)', async () => {
    const { m, gpu } = await decoders(MODELS.optTinyBpe);
    for (const task of ['hellaswag', 'winogrande'] as const) {
      const its = items(task, 3);
      const [b1, b3, b8] = [1, 3, 8].map((batch) => scoreItems(gpu, m.tokenizer, task, its, { batch }));
      const one = await b1;
      // the same kernels whatever was packed alongside: bit-identical
      expect(await b3).toEqual(one);
      expect(await b8).toEqual(one);
      // one forward per choice (plain kernels) agrees to f32 rounding
      expect(maxDiff(await scoreItems(gpu, m.tokenizer, task, its, { share: false }), one)).toBeLessThan(1e-4);
    }
  });

  it('left truncation as lm-eval: the last max_positions + 1 tokens, the last one not fed (stories260K at 40 positions)', async () => {
    const { m, gpu } = await decoders(MODELS.stories260K, { maxPositions: 40 });
    // the check feeds all 41 tokens (the 41st changes no earlier output): a rope table one position longer
    const { gpu: wide } = await decoders(MODELS.stories260K, { maxPositions: 41 });
    const its = items('boolq', 2);
    const got = await scoreItems(gpu, m.tokenizer, 'boolq', its);
    for (const [i, item] of its.entries()) {
      for (const [c, rq] of itemRequests(m.tokenizer, item).entries()) {
        const whole = new Uint32Array([...rq.context, ...rq.continuation]);
        expect(whole.length).toBeGreaterThan(41);
        // independently: the perplexity path's NLLs over the truncated input, summed over the continuation
        const nll = await wide.windowNll(whole.slice(-41));
        const ll = -nll.slice(-rq.continuation.length).reduce((s, v) => s + v, 0);
        expect(Math.abs(got[i][c].ll - ll)).toBeLessThan(1e-4);
      }
    }
  });

  it.each([
    ['stories260K (rope, grouped heads)', MODELS.stories260K],
    ['opt-tiny-bpe (learned positions)', MODELS.optTinyBpe],
  ])('%s: the packed attention and rope kernels equal their twins on a real packed forward', async (_, path) => {
    const { m, gpu, ref } = await decoders(path);
    const its = items('hellaswag', 2);
    const trees = its.map((it) => {
      const reqs = itemRequests(m.tokenizer, it);
      return { context: reqs[0].context, conts: reqs.map((r) => r.continuation), requests: reqs.map((_, i) => i) };
    });
    const f = packTrees(trees);
    const [hg, hr] = [await gpu.hidden(f.ids, { layout: f.layout! }), await ref.hidden(f.ids, { layout: f.layout! })];
    const a = await gpu.be.toHost(hg);
    const b = await ref.be.toHost(hr);
    gpu.be.release(hg);
    expect(relErr(a, b)).toBeLessThan(1e-4);
  });

  it('packs a tree: context once, each continuation but its last token, rows that predict each token', () => {
    const t = {
      context: Uint32Array.of(10, 11, 12),
      conts: [Uint32Array.of(20, 21), Uint32Array.of(30)],
      requests: [0, 1],
    };
    const f = packTrees([t, { context: Uint32Array.of(40), conts: [Uint32Array.of(50, 51, 52)], requests: [2] }]);
    expect([...f.ids]).toEqual([10, 11, 12, 20, 40, 50, 51]);
    // (context from, context to, own segment from, position)
    expect([...f.layout!]).toEqual([
      0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 3, 3, 0, 0, 4, 0, 4, 5, 5, 1, 4, 5, 5, 2,
    ]);
    expect([...f.rows]).toEqual([2, 3, 2, 4, 5, 6]);
    expect([...f.targets]).toEqual([20, 21, 30, 50, 51, 52]);
    expect([...f.starts]).toEqual([0, 2, 3, 6]);
    expect(f.requests).toEqual([0, 1, 2]);
  });

  it('scores rows on the GPU as the twins do: log-probs over vocabulary chunks, first-index argmax on ties, per-request sums (real logits)', async () => {
    const gpu = await sharedGpu();
    const be = gpuBackend(gpu);
    const { m } = await decoders(MODELS.optTinyBpe);
    // real logits: opt-tiny-bpe's lm_head on its embeddings, and one row with a tie at the top
    const V = m.config.vocab;
    const E = await m.checkpoint.readF32('model.decoder.embed_tokens.weight');
    const N = 5;
    const logits = new Float32Array(N * V);
    for (let r = 0; r < N; r++) for (let v = 0; v < V; v++) logits[r * V + v] = E[v * m.config.hidden + r] * 40;
    // ties at the top: within a chunk (row 4: 7 and 9) and across chunks (row 3: 7 and 30000)
    logits[4 * V + 7] = logits[4 * V + 9] = 100;
    logits[3 * V + 7] = logits[3 * V + 30000] = 100;
    const targets = Uint32Array.of(3, 50, 7, 30000, 9);
    const starts = Uint32Array.of(0, 2, 5);
    const want = cpu(new Float32Array(2 * N), [N, 2]);
    const state = cpu(new Float32Array(4 * N), [N, 4]);
    vocabChunk(cpu(logits, [N, V]), targets, state, 0);
    finishScores(state, targets, want, 0);
    const sums = requestSums(want, starts);
    // on the GPU in three vocabulary chunks
    const scores = be.zeros([N, 2]);
    const tt = be.ids(targets);
    const gst = be.zeros([N, 4]);
    for (const [v0, v1] of [
      [0, 20000],
      [20000, 30001],
      [30001, V],
    ]) {
      const lt = be.fromHost(
        Float32Array.from(
          { length: N * (v1 - v0) },
          (_, i) => logits[Math.floor(i / (v1 - v0)) * V + v0 + (i % (v1 - v0))],
        ),
        [N, v1 - v0],
      );
      be.vocabChunk(lt, tt, gst, v0);
      be.release(lt);
    }
    be.finishScores(gst, tt, scores, 0);
    const st = be.ids(starts);
    const got = await be.toHost(be.requestSums(scores, st));
    const rows = await be.toHost(scores);
    for (let i = 0; i < 2 * N; i++) expect(Math.abs(rows[i] - want.data[i])).toBeLessThan(1e-4);
    // the first index wins a tie, as torch's argmax: target 9 ties 7 in its chunk, 30000 ties 7 across chunks
    expect([rows[7], rows[9]]).toEqual([0, 0]);
    expect(Math.abs(got[0] - sums.data[0]) + Math.abs(got[2] - sums.data[2])).toBeLessThan(1e-4);
    expect([got[1], got[3]]).toEqual([sums.data[1], sums.data[3]]);
    [gst, tt, st, scores].forEach((x) => be.release(x));
  });

  it('aggregates as lm-eval: argmax (first on ties), acc_norm by characters, stderr sqrt(p(1−p)/(n−1)), lambada perplexity', () => {
    const mc = (gold: number, lengths: number[]): ZeroShotItem => ({
      contexts: lengths.map(() => 'q'),
      continuations: lengths.map(() => ' a'),
      gold,
      lengths,
    });
    const its = [mc(0, [1, 10]), mc(1, [1, 10]), mc(1, [1, 10]), mc(0, [4, 4])];
    const r = (...lls: number[]) => lls.map((ll) => ({ ll, greedy: false }));
    const res = [r(-1, -2), r(-1, -2), r(-3, -2), r(-2, -2)];
    const s = aggregate('piqa', its, res, 1);
    expect(s.acc).toBe(3 / 4); // the tie in item 4 goes to choice 0
    // acc_norm: −1/1 vs −2/10 → choice 1 in items 1–2; −3 vs −0.2 → 1; tie → 0
    expect(s.accNorm).toBe(3 / 4);
    expect(s.accStderr).toBeCloseTo(Math.sqrt((0.75 * 0.25) / 3), 12);
    const lam = aggregate(
      'lambada_openai',
      [mc(0, [1]), mc(0, [1])],
      [[{ ll: -1, greedy: true }], [{ ll: -3, greedy: false }]],
      1,
    );
    expect(lam.acc).toBe(0.5);
    expect(lam.perplexity).toBeCloseTo(Math.exp(2), 12);
  });
});
