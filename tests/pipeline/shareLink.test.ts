// Share links: an experiment and its figures survive the round trip; every kind of damage is refused with a message
// that says what is wrong; the command line reads the same link and prints the same experiment line as the page.
import { describe, expect, it } from 'vitest';
import { decodeShareLink, encodeShareFragment, shareUrl, ShareLinkError } from '../../src/pipeline/shareLink.ts';
import { describeSpec, type ExperimentSpec } from '../../src/pipeline/experimentSpec.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { applyLink, cliSpec } from '../../src/cli/main.ts';
import { MODELS } from '../helpers.ts';

const SPEC: ExperimentSpec = {
  model: { kind: 'bundled', id: 'stories260K' },
  recipe: makeRecipe({
    calib: 'tinystories',
    nsamples: 8,
    seqlen: 256,
    steps: [
      { method: 'rptq', abits: 4, onlyQuantKv: true, R1: 16, R2: 2, R3: 4, R4: 16, R5: 8 },
      { method: 'gptq', wbits: 4 },
    ],
  }),
  eval: { datasets: ['tinystories', 'wikitext2'], seqlen: 256, windows: 4 },
};
const RESULTS = {
  label: 'RPTQ W4A4KV',
  ppl: { tinystories: 7.28, wikitext2: 1234.5 },
  pplBefore: { tinystories: 6.29 },
  bitsPerWeight: 12.5,
  device: 'SwiftShader',
};

/** a fragment with its JSON replaced, checksum and packing redone: what a hand-edited link looks like */
async function forged(
  mutate: (o: { spec: Record<string, any>; results?: Record<string, any> }) => void,
): Promise<string> {
  const o = JSON.parse(JSON.stringify({ spec: SPEC, results: RESULTS }));
  mutate(o);
  return encodeShareFragment(o);
}

describe('share links', () => {
  it('round-trip the experiment and its figures', async () => {
    const url = await shareUrl('http://localhost:5173/?a=1#old', { spec: SPEC, results: RESULTS });
    expect(url.startsWith('http://localhost:5173/?a=1#x=2.')).toBe(true);
    const back = await decodeShareLink(url);
    expect(back.spec).toEqual(SPEC);
    expect(back.results).toEqual(RESULTS);
    expect(url.length).toBeLessThan(1200);
  });

  it("carry the Generate panel's prompt and settings (never the text), each setting checked", async () => {
    const generate = {
      prompt: 'Once upon a time',
      maxNewTokens: 32,
      temperature: 0.7,
      topK: 40,
      topP: 0.9,
      repetitionPenalty: 1.1,
      seed: 3,
    };
    const back = await decodeShareLink(await encodeShareFragment({ spec: SPEC, generate }));
    expect(back.generate).toEqual(generate);
    for (const [field, bad] of [
      ['topP', 2],
      ['maxNewTokens', 0],
      ['seed', -1],
      ['prompt', ''],
    ] as const) {
      const f = await encodeShareFragment({ spec: SPEC, generate: { ...generate, [field]: bad } });
      await expect(decodeShareLink(f)).rejects.toThrow(new RegExp(`generation settings are invalid at ${field}`));
    }
  });

  it.each([
    ['cut short', (f: string) => f.slice(0, -7), /damaged/],
    [
      'one character changed',
      (f: string) => f.slice(0, -10) + (f.at(-10) === 'A' ? 'B' : 'A') + f.slice(-9),
      /damaged/,
    ],
    [
      'another version',
      (f: string) => f.replace('x=2.', 'x=9.'),
      /format version "9"; this lab reads versions 1 and 2/,
    ],
    ['markup pasted in', (f: string) => f + '<img src=x onerror=alert(1)>', /damaged/],
    ['not a lab link', () => 'section-2', /not a Quantization Lab share link/],
  ])('refuses a link %s', async (_, damage, msg) => {
    const f = await encodeShareFragment({ spec: SPEC, results: RESULTS });
    const p = decodeShareLink(`http://localhost:5173/#${damage(f)}`);
    await expect(p).rejects.toThrow(ShareLinkError);
    await expect(p).rejects.toThrow(msg);
  });

  it.each([
    ['an unknown method', (o: any) => (o.spec.recipe.steps[1].method = 'magic'), /recipe\.steps\.1\.method/],
    ['a bad bit width', (o: any) => (o.spec.recipe.steps[1].wbits = 1), /recipe\.steps\.1\.wbits/],
    ['two weight steps', (o: any) => o.spec.recipe.steps.push({ ...o.spec.recipe.steps[1] }), /recipe\.steps/],
    [
      'steps out of order',
      (o: any) => o.spec.recipe.steps.reverse(),
      /not runnable: a recipe is at most one transform then at most one weight step \(got gptq → rptq\)/,
    ],
    [
      'a script as a model id',
      (o: any) => (o.spec.model = { kind: 'bundled', id: '<script>alert(1)</script>' }),
      /model\.id: not a valid bundled model id/,
    ],
    ['a javascript: URL', (o: any) => (o.spec.model = { kind: 'url', url: 'javascript:alert(1)' }), /model\.url/],
    ['an unknown field', (o: any) => (o.spec.recipe.evil = true), /recipe/],
    ['an unknown option of a step', (o: any) => (o.spec.recipe.steps[0].evil = true), /recipe\.steps\.0/],
    ['an unknown dataset', (o: any) => (o.spec.eval.datasets = ['secret']), /eval\.datasets/],
    ['a fake figure', (o: any) => (o.results.ppl.tinystories = -1), /results are invalid at ppl\.tinystories/],
    ['an unknown task', (o: any) => (o.spec.eval.tasks = ['piqa', 'mmlu']), /eval\.tasks\.1/],
    [
      'nothing to evaluate',
      (o: any) => (o.spec.eval.datasets = []),
      /evaluates nothing: name a perplexity dataset or a zero-shot task/,
    ],
    [
      'an accuracy above 1',
      (o: any) => (o.results.tasks = { piqa: { items: 5, acc: 1.5 } }),
      /results are invalid at tasks\.piqa\.acc/,
    ],
    [
      'a recipe that cannot run',
      (o: any) => (o.spec.recipe.steps[1].groupsize = 32),
      /not runnable: --groupsize does not apply after rptq/,
    ],
  ])('refuses a forged link with %s', async (_, mutate, msg) => {
    const p = decodeShareLink(await forged(mutate));
    await expect(p).rejects.toThrow(ShareLinkError);
    await expect(p).rejects.toThrow(msg);
  });

  it('carries zero-shot tasks, their item limit and their figures; the command line runs the same tasks', async () => {
    const spec: ExperimentSpec = { ...SPEC, eval: { ...SPEC.eval, tasks: ['piqa', 'boolq'], limit: 50 } };
    const results = {
      ...RESULTS,
      tasks: { piqa: { items: 50, acc: 0.62, accNorm: 0.6 } },
      tasksBefore: { piqa: { items: 50, acc: 0.64, accNorm: 0.62 } },
    };
    const url = await shareUrl('http://localhost:5173/', { spec, results });
    const back = await decodeShareLink(url);
    expect(back.spec).toEqual(spec);
    expect(back.results).toEqual(results);
    const opts = applyLink(parseArgs(['--from-link', url]), back.spec);
    expect([opts.tasks, opts.limit]).toEqual([['piqa', 'boolq'], 50]);
    expect(describeSpec(cliSpec(opts, back.spec.model))).toBe(describeSpec(spec));
    expect(describeSpec(spec)).toMatch(/ · tasks piqa,boolq items 50$/);
    expect(() => parseArgs(['--from-link', url, '--tasks', 'piqa'])).toThrow(
      /carries the whole experiment; drop --tasks/,
    );
  });

  it("the command line reads the same link and prints the page's experiment line", async () => {
    const url = await shareUrl('http://localhost:5173/', { spec: SPEC });
    const parsed = parseArgs(['--from-link', url, '--json', 'out.json']);
    const { spec } = await decodeShareLink(parsed.fromLink!);
    const opts = applyLink(parsed, spec);
    expect(opts.model).toBe(MODELS.stories260K.replace(/\/$/, ''));
    expect(opts.recipe).toEqual(SPEC.recipe);
    expect(opts.evalPpl).toEqual(['tinystories', 'wikitext2']);
    expect(describeSpec(cliSpec(opts, spec.model))).toBe(describeSpec(SPEC));
    // the folder given directly names the same bundled model
    expect(cliSpec(opts).model).toEqual(SPEC.model);
    expect(() => parseArgs(['--from-link', url, '--wbits', '3'])).toThrow(/carries the whole experiment; drop --wbits/);
  });
});
