// Issue 9: no path produces a wrong figure without a word. A wrong text is refused before it is tokenized; cache keys
// name texts by their bytes; a link cannot choose what the lab fetches; a non-finite figure is an error with its
// block named; configs and unreachable servers say what is really wrong; the form checks options against the
// probed model, in its own words.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpReader } from '../../src/eval/dataFiles.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { memoryCache } from '../../src/pipeline/cache.ts';
import { decodeShareLink, encodeShareFragment, ShareLinkError } from '../../src/pipeline/shareLink.ts';
import { experimentSchema, type ExperimentSpec } from '../../src/pipeline/experimentSpec.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { hubSource, urlSource } from '../../src/model/source.ts';
import { parseConfig } from '../../src/model/config.ts';
import { makeRecipe, validateRecipe } from '../../src/quant/recipe.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { main } from '../../src/cli/main.ts';
import { defaultOptions, presetProblem, recipeProblem } from '../../src/store/experimentSlice.ts';
import type { LabState } from '../../src/store/labStore.ts';
import { DatasetError, NetworkError, NonFiniteError, OptionsError, UnsupportedModelError } from '../../src/errors.ts';
import { MODELS, SHARED, sharedGpu } from '../helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dirs: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  servers.forEach((s) => s.close());
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'quantlab-trust-'));
  dirs.push(d);
  return d;
}

/** A data folder holding one file (relative path → text). */
function dataFolder(files: Record<string, string>): string {
  const d = tempDir();
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(d, rel, '..'), { recursive: true });
    writeFileSync(join(d, rel), text);
  }
  return d;
}

/** A server that answers every path like a single-page app's dev server: 200 and its index.html. */
async function spaServer(contentType = 'text/html'): Promise<string> {
  const s = createServer((_, res) =>
    res
      .writeHead(200, { 'Content-Type': contentType })
      .end(
        '<!doctype html>\n<html><head><title>Quantization Lab</title></head><body><div id="root"></div></body></html>',
      ),
  );
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const TINYSTORIES = readFileSync(`${SHARED}data/tinystories/validation-subset.txt`, 'utf8');
/** The same stories in the opposite order: the same size and alphabet, another text. */
const REVERSED = TINYSTORIES.split('\n\n').reverse().join('\n\n');

const SMALL = { datasets: ['tinystories'], windows: 1, seqlen: 128, skipBefore: true };

describe('a wrong text is refused before it becomes a figure', () => {
  it("a data folder answered with the web app's index.html is refused, naming the URL (the page's /data/, the CLI's --data_dir)", async () => {
    const base = `${await spaServer()}/data/`;
    await expect(httpReader(base)('tinystories/validation-subset.txt')).rejects.toThrow(DatasetError);
    await expect(httpReader(base)('tinystories/validation-subset.txt')).rejects.toThrow(
      `${base}tinystories/validation-subset.txt answered with content type "text/html"`,
    );
    // a server that calls its HTML page plain text is caught by what the text is
    const plain = `${await spaServer('text/plain')}/data/`;
    await expect(httpReader(plain)('tinystories/validation-subset.txt')).rejects.toThrow(
      /validation-subset\.txt is an HTML page, not the text file/,
    );
    // the CLI refuses, with the data folder's URL in the message, instead of scoring the page
    await expect(
      main([
        MODELS.stories260K,
        '--eval_ppl',
        'tinystories',
        '--seqlen',
        '128',
        '--eval_windows',
        '1',
        '--data_dir',
        base,
      ]),
    ).rejects.toThrow(/answered with content type "text\/html"/);
  });

  it("a named dataset's file far from its known size, and a JSON-lines file with a broken line, are refused naming the file", async () => {
    const short = dataFolder({ 'tinystories/validation-subset.txt': 'Once upon a time.' });
    await expect(evalText('tinystories', folderReader(short), 128)).rejects.toThrow(
      /validation-subset\.txt is 17 bytes; the dataset's tinystories\/validation-subset\.txt is 794,375 bytes/,
    );
    const lines = readFileSync(`${SHARED}data/c4/c4-validation-sample-2k.jsonl`, 'utf8').split('\n');
    lines[6] = lines[6].slice(0, 40);
    const broken = dataFolder({ 'c4/c4-validation-sample-2k.jsonl': lines.join('\n') });
    await expect(evalText('c4', folderReader(broken), 128)).rejects.toThrow(
      /c4-validation-sample-2k\.jsonl line 7 is not JSON/,
    );
  });

  it('two different evaluation texts under the same dataset name never share a cached figure; calibration texts never share blocks', async () => {
    const cache = memoryCache();
    const ctx = (dir?: string) => ({
      source: folderSource(MODELS.stories260K),
      readText: folderReader(dir),
      gpu: undefined as never,
      cache,
    });
    const gpu = await sharedGpu();
    const other = dataFolder({ 'tinystories/validation-subset.txt': REVERSED });
    const a = await runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128 }, { ...ctx(), gpu });
    const b = await runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128 }, { ...ctx(other), gpu });
    console.log(
      `tinystories FP, 1 window of 128: the file ${a.ppl.tinystories}, its stories reversed ${b.ppl.tinystories}`,
    );
    expect(b.cached).toBeFalsy();
    expect(b.ppl.tinystories).not.toBe(a.ppl.tinystories);
    const again = await runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128 }, { ...ctx(other), gpu });
    expect(again.cached).toBe(true);
    expect(again.ppl.tinystories).toBe(b.ppl.tinystories);

    // GPTQ calibrated on the reversed stories reuses no block of the run calibrated on the file
    const r = makeRecipe({
      calib: 'tinystories',
      nsamples: 1,
      seqlen: 128,
      seed: 0,
      steps: [{ method: 'gptq', wbits: 3 }],
    });
    const q1 = await runExperiment({ ...SMALL, recipe: r }, { ...ctx(), gpu });
    expect((await runExperiment({ ...SMALL, recipe: r }, { ...ctx(), gpu })).cached).toBe(true);
    const q2 = await runExperiment({ ...SMALL, recipe: r }, { ...ctx(other), gpu });
    expect(q2.cached).toBeFalsy();
    expect(q2.quant!.cachedBlocks).toBeUndefined();
    expect(q2.quant!.blockKey).not.toBe(q1.quant!.blockKey);
  });
});

/** A link's fragment with its JSON built by hand (valid checksum): what someone crafting a link can send. */
async function crafted(calib: string): Promise<string> {
  const spec = {
    model: { kind: 'bundled', id: 'stories260K' },
    recipe: {
      ...makeRecipe({
        nsamples: 2,
        seqlen: 128,
        steps: [
          { method: 'rptq', abits: 4 },
          { method: 'gptq', wbits: 4 },
        ],
      }),
      calib,
    },
    eval: { datasets: ['tinystories'], seqlen: 128, windows: 1 },
  };
  return `http://localhost:5173/#${await encodeShareFragment({ spec: spec as ExperimentSpec })}`;
}

describe('a share link cannot choose what the lab reads', () => {
  it('a calibration path (.. or the evaluation file itself) is refused by the schema, in the page and the CLI; an https URL is kept for the user to confirm', async () => {
    for (const calib of [
      '../../../../etc/passwd.txt',
      'tinystories/validation-subset.txt',
      '../../project/README.md',
      'http://example.com/plain-http.txt',
      'https://127.0.0.1/local.txt',
    ]) {
      const link = await crafted(calib);
      await expect(decodeShareLink(link)).rejects.toThrow(ShareLinkError);
      await expect(decodeShareLink(link)).rejects.toThrow(
        /invalid at recipe\.calib: the calibration source must be a named set .* or an absolute https:\/\/ URL/,
      );
      await expect(main(['--from-link', link, '--dry_run'])).rejects.toThrow(/recipe\.calib/);
    }
    const url = 'https://huggingface.co/datasets/org/texts/resolve/main/calibration.txt';
    expect((await decodeShareLink(await crafted(url))).spec.recipe.calib).toBe(url);
  });

  it('calibrating on the text that is scored is said with the figure', async () => {
    const gpu = await sharedGpu();
    const r = makeRecipe({
      calib: 'tinystories',
      nsamples: 1,
      seqlen: 128,
      seed: 0,
      hiddenLayerNum: 1,
      steps: [{ method: 'rtn', wbits: 4 }],
    });
    const ctx = { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu };
    const overlapping = await runExperiment(
      { ...SMALL, datasets: ['tinystories-file', 'tinystories'], recipe: r },
      ctx,
    );
    expect(overlapping.caveats).toEqual([
      'the calibration text (tinystories) overlaps the evaluation text of tinystories-file: the quantized figure there is flattered',
    ]);
    const clean = await runExperiment({ ...SMALL, recipe: r }, ctx);
    expect(clean.caveats).toBeUndefined();
  });
});

/** stories260K with NaN in block 1's down_proj. */
function nanCheckpoint(): string {
  const dir = tempDir();
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(MODELS.stories260K, f), join(dir, f));
  const st = Buffer.from(readFileSync(join(MODELS.stories260K, 'model.safetensors')));
  const n = Number(st.readBigUInt64LE(0));
  const t = JSON.parse(st.subarray(8, 8 + n).toString())['model.layers.1.mlp.down_proj.weight'];
  for (let i = 0; i < 16; i++) st.writeFloatLE(NaN, 8 + n + t.data_offsets[0] + i * 4);
  writeFileSync(join(dir, 'model.safetensors'), st);
  return dir;
}

describe('a non-finite figure is an error everywhere', () => {
  it('full precision and RTN on a checkpoint with NaN weights fail naming the first non-finite block; the CLI exits non-zero', async () => {
    const dir = nanCheckpoint();
    const ctx = { source: folderSource(dir), readText: folderReader(), gpu: await sharedGpu() };
    await expect(runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128 }, ctx)).rejects.toThrow(
      NonFiniteError,
    );
    await expect(runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128 }, ctx)).rejects.toThrow(
      /first non-finite block: 1/,
    );
    const rtn = makeRecipe({ calib: 'tinystories', nsamples: 1, seqlen: 128, steps: [{ method: 'rtn', wbits: 4 }] });
    await expect(
      runExperiment({ datasets: ['tinystories'], windows: 1, seqlen: 128, recipe: rtn }, ctx),
    ).rejects.toThrow(/first non-finite block: 1/);
    const cli = spawnSync(
      join(ROOT, 'node_modules/.bin/tsx'),
      ['src/cli/main.ts', dir, '--eval_ppl', 'tinystories', '--seqlen', '128', '--eval_windows', '1'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(cli.status).toBe(2);
    expect(cli.stderr).toMatch(/error: block 1 produced \d+ NaN\/Inf values \(first non-finite block: 1\)/);
    expect(cli.stdout).not.toMatch(/perplexity|NaN \|/);
    // and nothing about the runtime directory or Vulkan's rejected drivers: the user's terminal is the lab's
    expect(cli.stderr).not.toMatch(/XDG_RUNTIME_DIR|Vulkan/);
  });
});

describe('configs and networks name the real problem', () => {
  it('hidden_size not divisible by num_attention_heads is said so, not as a tensor-shape mismatch', () => {
    const cfg = JSON.parse(readFileSync(join(MODELS.stories260K, 'config.json'), 'utf8'));
    expect(() => parseConfig({ ...cfg, num_attention_heads: 7 })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ ...cfg, num_attention_heads: 7 })).toThrow(
      'hidden_size 64 is not divisible by num_attention_heads 7',
    );
    expect(() => parseConfig({ ...cfg, num_key_value_heads: 3 })).toThrow(
      'num_attention_heads 8 is not a multiple of num_key_value_heads 3',
    );
    expect(() => parseConfig({ ...cfg, hidden_size: '64' })).toThrow(
      `config.json's "hidden_size" is "64", not a number`,
    );
  });

  it('an unreachable Hub or model URL names the URL it tried', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const dead = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    await new Promise<void>((r) => s.close(() => r()));
    await expect(hubSource('org/model', 'main', dead).open('config.json')).rejects.toThrow(NetworkError);
    await expect(hubSource('org/model', 'main', dead).open('config.json')).rejects.toThrow(
      `could not reach the Hugging Face Hub at ${dead}/org/model/resolve/main/config.json`,
    );
    await expect(urlSource(`${dead}/models/x/`).open('config.json')).rejects.toThrow(
      `could not reach the model server at ${dead}/models/x/config.json`,
    );
  });
});

describe('options are checked against the model, in the words of whoever asked', () => {
  const cfg = parseConfig(JSON.parse(readFileSync(join(MODELS.stories260K, 'config.json'), 'utf8')));
  /** the page's form state: a chain, every method's options, the calibration, and the probed stories260K */
  const state = (chain: string, options: Record<string, Record<string, unknown>> = {}) => {
    const all = defaultOptions();
    for (const [m, o] of Object.entries(options)) all[m] = { ...all[m], ...o };
    return {
      chain,
      options: all,
      calib: 'tinystories',
      nsamples: 2,
      seed: 0,
      seqlen: 128,
      datasets: ['tinystories'],
      tasks: [],
      limit: null,
      model: { kind: 'bundled', id: 'stories260K' },
      probe: { status: 'done', of: 'bundled stories260K', info: { config: cfg } },
      calibAllowed: [],
    } as unknown as LabState;
  };

  it('presets that cannot run on the probed model say why; the form names its own fields', () => {
    expect(presetProblem(state('gptq'), 'GPTQ W4 g128')).toBe(
      'Group size 128 does not divide the q/k/v, fc1/gate/up (hidden) width 64',
    );
    expect(presetProblem(state('gptq'), 'W4A4')).toBeNull();
    expect(recipeProblem(state('gptq', { gptq: { groupsize: 7 } }))).toBe(
      'Group size 7 does not divide the q/k/v, fc1/gate/up (hidden) width 64',
    );
    expect(recipeProblem(state('rptq+gptq', { rptq: { R1: 100 } }))).toBe(
      'R1 clusters 100 is more than the 64 channels of hidden',
    );
    expect(recipeProblem(state('gptq', { gptq: { wbits: NaN } }))).toBe(
      'Wbits must be an integer from 2 to 8 for gptq (the field is empty)',
    );
    expect(recipeProblem({ ...state('gptq'), calib: 'https://example.com/calibration.txt' } as LabState)).toMatch(
      /^Confirm the calibration URL https:\/\/example\.com\/calibration\.txt/,
    );
    expect(
      recipeProblem({
        ...state('gptq'),
        model: { kind: 'files', files: [], label: 'my-llama' },
      } as unknown as LabState),
    ).toMatch(/local files \("my-llama"\).*pick that folder/);
    // after RPTQ the weight groups are its clusters: a group size left in GPTQ's options is not part of the recipe
    expect(recipeProblem(state('rptq+gptq', { gptq: { groupsize: 7 } }))).toBeNull();
  });

  it('the CLI refuses a method option without a method; a seed the link schema would refuse is refused up front', () => {
    expect(() => parseArgs(['m', '--groupsize', '7'])).toThrow(OptionsError);
    expect(() => parseArgs(['m', '--groupsize', '7'])).toThrow(
      '--groupsize is a quantization option, but this runs full precision',
    );
    const huge = { ...makeRecipe({ steps: [{ method: 'gptq', wbits: 4 }] }), seed: 1e30 };
    expect(() => validateRecipe(huge)).toThrow(/--seed must be an integer from 0 to 4294967295/);
    expect(
      experimentSchema.safeParse({
        model: { kind: 'bundled', id: 'x' },
        recipe: huge,
        eval: { datasets: ['tinystories'], seqlen: 128, windows: 1 },
      }).success,
    ).toBe(false);
  });
});
