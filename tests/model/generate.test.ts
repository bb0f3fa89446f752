// Decoding with the KV cache (issue 25):
//   1. greedy decoding with the cache gives exactly the tokens of greedy decoding by full forward passes (64 new
//      tokens, LLaMA and OPT, full precision and RPTQ W4A4 with KV quantization), on WebGPU and on the reference;
//   2. the full-precision greedy continuations of three prompts equal an independent float64 numpy implementation's
//      (tests/reference/greedy.py, written from transformers' LlamaForCausalLM / OPTForCausalLM; the ids below are
//      what it printed);
//   3. sampling: seeded, top-k/top-p/temperature/repetition penalty as transformers applies them; text streams whole.
import { describe, expect, it } from 'vitest';
import { gpuBackend, referenceBackend, type Backend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { generate, TextStream } from '../../src/eval/generate.ts';
import { GREEDY, Sampler, samplingError } from '../../src/eval/sampling.ts';
import { quantizeModel } from '../../src/pipeline/quantizeModel.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { sampleWindows } from '../../src/eval/calibration.ts';
import { MODELS, SHARED, loadFixture, sharedGpu } from '../helpers.ts';
import { readFileSync } from 'node:fs';

const PROMPTS = ['Once upon a time', 'Tom and Lily went to the park.', 'The little dog was sad because'];

// python3 tests/reference/greedy.py ../shared/models/<model> 64 <prompt ids>
const NUMPY: Record<string, string[]> = {
  stories260K: [
    '432,383,286,261,376,298,315,421,395,317,426,338,401,396,267,337,410,408,419,292,411,322,265,282,295,433,426,385,' +
      '328,432,358,394,261,370,432,352,266,268,388,426,338,391,266,267,337,335,312,432,398,312,286,267,414,270,333,' +
      '415,426,13,438,310,439,419,357,336',
    '342,394,261,370,268,414,444,335,261,370,268,414,444,426,342,391,266,267,337,335,312,426,342,391,266,267,337,335,' +
      '265,268,414,444,426,342,391,266,267,337,335,265,268,414,444,426,13,436,438,347,433,432,392,287,443,436,274,' +
      '287,336,426,313,438,316,439,419,298',
    '281,401,396,267,337,335,345,267,422,419,426,385,328,432,281,394,261,370,268,414,444,322,265,298,420,277,264,426,' +
      '291,268,414,444,286,399,262,429,295,266,269,279,292,416,439,413,409,416,327,263,415,294,267,400,426,13,434,' +
      '260,268,414,422,336,432,313,455,289',
  ],
  'opt-tiny': [
    '432,383,286,261,376,298,315,421,395,317,426,385,328,432,358,401,396,267,337,335,311,357,343,426,385,328,432,317,' +
      '439,419,357,343,267,337,335,311,357,343,267,337,335,311,357,343,267,337,335,311,357,343,426,317,439,419,357,' +
      '343,267,422,426,317,439,419,357,343',
    '338,286,399,393,426,338,286,399,393,269,262,423,414,276,294,411,421,422,426,13,13,438,310,286,384,393,267,414,' +
      '276,413,266,267,414,276,413,285,426,338,286,384,393,267,414,276,413,266,267,414,276,413,285,426,338,286,384,' +
      '393,267,414,276,413,285,357,343,269',
    '426,13,13,434,260,268,414,422,432,265,268,414,422,432,265,268,414,422,432,265,268,414,422,426,346,286,384,393,' +
      '269,265,268,414,422,426,346,286,384,393,269,281,295,413,266,267,414,276,426,346,286,384,393,269,281,295,413,' +
      '266,267,414,427,266,267,414,276,426',
  ],
};

const FIXTURES = [
  ['stories260K', MODELS.stories260K],
  ['opt-tiny', MODELS.optTiny],
] as const;

const greedy = { ...GREEDY, maxNewTokens: 64 };

async function decoderOf<T>(be: Backend<T>, path: string) {
  const m = await loadFixture(path);
  return { m, dec: new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint)) };
}

describe('greedy decoding with the KV cache', () => {
  it.each(FIXTURES)('%s: the three prompts continue as the numpy reference does', async (name, path) => {
    const { m, dec } = await decoderOf(gpuBackend(await sharedGpu()), path);
    for (const [i, prompt] of PROMPTS.entries()) {
      const g = await generate(dec, m.tokenizer, m.tokenizer.encode(prompt), greedy);
      expect(g.ids.join(','), `${name}: "${prompt}"`).toBe(NUMPY[name][i]);
      if (i === 0) console.log(`${name} greedy: ${prompt}${g.text}`);
    }
  });

  // the reference backend on stories260K (its twins quantize opt-tiny's wider blocks slowly)
  it.each(FIXTURES)('%s RPTQ W4A4 (and KV at 4 bits): cached = uncached, WebGPU = reference', async (name, path) => {
    const gpu = gpuBackend(await sharedGpu());
    const { m, dec } = await decoderOf(gpu, path);
    const withRef = name === 'stories260K';
    const refDec = withRef ? (await decoderOf(referenceBackend(), path)).dec : null;
    const prompt = m.tokenizer.encode(PROMPTS[1]);
    const text = readFileSync(`${SHARED}/data/tinystories/validation-subset.txt`, 'utf8').slice(0, 20000);
    const calib = sampleWindows(m.tokenizer.encode(text), 2, 128, 0);
    const steps = [
      { method: 'rptq', abits: 4 },
      { method: 'rtn', wbits: 4 },
    ];
    const recipe = makeRecipe({ calib: 'tinystories', nsamples: 2, seqlen: 128, seed: 0, steps });
    for (const d of [dec, refDec] as (Decoder<unknown> | null)[])
      if (d) await quantizeModel(recipe, calib, { decoder: d, weights: d.weights });
    const cached = await generate(dec, m.tokenizer, prompt, greedy);
    const uncached = await generate(dec, m.tokenizer, prompt, greedy, { cache: false });
    expect(cached.ids).toEqual(uncached.ids);
    // the quantized model writes something else than the full-precision one
    expect(cached.ids.join(',')).not.toBe(NUMPY[name][1]);
    console.log(`${name} RPTQ W4A4: ${PROMPTS[1]}${cached.text}`);
    if (!refDec) return;
    expect((await generate(refDec, m.tokenizer, prompt, greedy)).ids).toEqual(cached.ids);
    // the reference's own uncached decoding, shorter (the twins rerun the whole sequence for every token)
    const short = { ...greedy, maxNewTokens: 16 };
    expect((await generate(refDec, m.tokenizer, prompt, short, { cache: false })).ids).toEqual(cached.ids.slice(0, 16));
  });
});

describe('sampling', () => {
  const logits = Float32Array.from([2, 1, 0.5, 3, -1, 3]);

  it('greedy takes the first of the largest logits; the repetition penalty moves it', () => {
    expect(new Sampler(GREEDY).next(logits, [])).toBe(3);
    // 3 / 1.5 = 2 for tokens 3 and 5, so token 0 (2, first) wins
    expect(new Sampler({ ...GREEDY, repetitionPenalty: 1.5 }).next(logits, [3, 5, 5])).toBe(0);
  });

  it('top-k 1 is greedy; top-p keeps the smallest set reaching p; the seed fixes the draw', () => {
    const s = { ...GREEDY, temperature: 1, seed: 7 };
    for (let i = 0; i < 20; i++) expect(new Sampler({ ...s, topK: 1, seed: i }).next(logits, [])).toBe(3);
    // tokens 3 and 5 hold 2·e³/(2e³ + e² + e + e^0.5 + e^−1) ≈ 0.78 of the mass: top-p 0.7 draws only them
    const drawn = new Set(
      Array.from({ length: 200 }, (_, i) => new Sampler({ ...s, topP: 0.7, seed: i }).next(logits, [])),
    );
    expect([...drawn].sort()).toEqual([3, 5]);
    const a = new Sampler(s);
    const b = new Sampler(s);
    const seq = Array.from({ length: 50 }, () => a.next(logits, []));
    expect(Array.from({ length: 50 }, () => b.next(logits, []))).toEqual(seq);
    expect(new Set(seq).size).toBeGreaterThan(2);
  });

  it('refuses settings it cannot use, by name', () => {
    expect(samplingError({ ...GREEDY, topP: 0 })).toMatch(/top-p 0/);
    expect(samplingError({ ...GREEDY, temperature: -1 })).toMatch(/temperature -1/);
    expect(() => new Sampler({ ...GREEDY, topK: 1.5 })).toThrow(/top-k 1.5/);
  });

  it('streams whole characters only: a byte-fallback piece is held until its character is complete', async () => {
    const m = await loadFixture(MODELS.stories260K);
    const tok = m.tokenizer;
    const prompt = tok.encode('A');
    // "世" is three UTF-8 bytes: three byte-fallback tokens in this 512-piece vocabulary
    const ids = Array.from(tok.encodePlain('世!'));
    expect(ids.length).toBeGreaterThanOrEqual(4);
    const stream = new TextStream(tok, prompt);
    const pieces = ids.map((_, i) => stream.push(ids.slice(0, i + 1)));
    expect(pieces).toContain('');
    expect(pieces.join('')).toBe(stream.text(ids));
    expect(pieces.join('')).toMatch(/世!$/);
    expect(pieces.every((p) => !p.includes('\uFFFD'))).toBe(true);
  });
});
