// Bad input gets a specific error, not a crash: each case builds a broken copy of a real fixture in a temp folder.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/model/load.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import {
  DatasetError,
  MissingFileError,
  MissingTensorError,
  OptionsError,
  SafetensorsError,
  UnsupportedModelError,
} from '../../src/errors.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { MODELS } from '../helpers.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A copy of stories260K whose files can be edited. */
function fixture(edit: (dir: string, st: Buffer) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantlab-bad-'));
  dirs.push(dir);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors'])
    copyFileSync(join(MODELS.stories260K, f), join(dir, f));
  edit(dir, readFileSync(join(dir, 'model.safetensors')));
  return dir;
}

function header(st: Buffer): { n: number; json: Record<string, any> } {
  const n = Number(st.readBigUInt64LE(0));
  return { n, json: JSON.parse(st.subarray(8, 8 + n).toString()) };
}

/** Rewrites the header, padding with spaces so the data offsets stay valid. */
function withHeader(st: Buffer, json: object): Buffer {
  const { n } = header(st);
  let text = JSON.stringify(json);
  if (text.length > n) throw new Error('edited header grew');
  text = text.padEnd(n, ' ');
  const out = Buffer.from(st);
  out.write(text, 8, 'utf8');
  return out;
}

const write = (dir: string, buf: Buffer) => writeFileSync(join(dir, 'model.safetensors'), buf);

async function loadAndValidate(dir: string) {
  const m = await loadModel(folderSource(dir));
  new WeightStore(referenceBackend(), m.config, m.checkpoint).validate();
  return m;
}

describe('bad input is refused with a specific error', () => {
  it('a truncated file (header length past the end)', async () => {
    const dir = fixture((d, st) => write(d, st.subarray(0, 200)));
    await expect(loadAndValidate(dir)).rejects.toThrow(SafetensorsError);
    await expect(loadAndValidate(dir)).rejects.toThrow(/runs past the end.*truncated/);
  });

  it('an oversized header length', async () => {
    const dir = fixture((d, st) => {
      const out = Buffer.from(st);
      out.writeBigUInt64LE(2n ** 40n, 0);
      write(d, out);
    });
    await expect(loadAndValidate(dir)).rejects.toThrow(/header length \d+ is larger than/);
  });

  it('a header that is not JSON', async () => {
    const dir = fixture((d, st) => {
      const out = Buffer.from(st);
      out.write('{not json', 8);
      write(d, out);
    });
    await expect(loadAndValidate(dir)).rejects.toThrow(/not valid JSON/);
  });

  it('a config.json that a web server answered with its HTML page says so, not "unexpected token <"', async () => {
    const dir = fixture((d) =>
      writeFileSync(join(d, 'config.json'), '<!doctype html>\n<html><head><title>app</title></head></html>'),
    );
    await expect(loadAndValidate(dir)).rejects.toThrow(
      /asking for config\.json returned an HTML page, not a JSON file/,
    );
  });

  it('a tensor whose byte range runs past the file', async () => {
    const dir = fixture((d, st) => write(d, st.subarray(0, st.length - 1000)));
    await expect(loadAndValidate(dir)).rejects.toThrow(/tensor ".*" ends at byte \d+, past the end/);
  });

  it('an unknown dtype', async () => {
    const dir = fixture((d, st) => {
      const { json } = header(st);
      json['model.norm.weight'].dtype = 'I8';
      write(d, withHeader(st, json));
    });
    await expect(loadAndValidate(dir)).rejects.toThrow(/tensor "model.norm.weight" has dtype "I8"/);
  });

  it('a missing tensor', async () => {
    const dir = fixture((d, st) => {
      const { json } = header(st);
      json['model.layers.3.mlp.renamed'] = json['model.layers.3.mlp.up_proj.weight'];
      delete json['model.layers.3.mlp.up_proj.weight'];
      write(d, withHeader(st, json));
    });
    await expect(loadAndValidate(dir)).rejects.toThrow(MissingTensorError);
    await expect(loadAndValidate(dir)).rejects.toThrow(/no tensor "model.layers.3.mlp.up_proj.weight"/);
  });

  it('an unsupported model_type, named', async () => {
    const dir = fixture((d) => {
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 'gpt_neox' }));
    });
    await expect(loadAndValidate(dir)).rejects.toThrow(UnsupportedModelError);
    await expect(loadAndValidate(dir)).rejects.toThrow(/model_type "gpt_neox" is not supported/);
  });

  it('post-LayerNorm OPT (OPT-350m style) is refused plainly', async () => {
    const dir = fixture((d) =>
      writeFileSync(
        join(d, 'config.json'),
        readFileSync(join(MODELS.optTiny, 'config.json'), 'utf8').replace(
          '"do_layer_norm_before": true',
          '"do_layer_norm_before": false',
        ),
      ),
    );
    await expect(loadAndValidate(dir)).rejects.toThrow(/post-LayerNorm/);
  });

  it('a missing tokenizer', async () => {
    const dir = fixture((d) => rmSync(join(d, 'tokenizer.json')));
    await expect(loadAndValidate(dir)).rejects.toThrow(MissingFileError);
    await expect(loadAndValidate(dir)).rejects.toThrow(/tokenizer.json not found/);
  });

  it('a dataset name that does not exist', async () => {
    await expect(evalText('wikitext3', folderReader(), 512)).rejects.toThrow(DatasetError);
    await expect(evalText('wikitext3', folderReader(), 512)).rejects.toThrow(
      /unknown dataset "wikitext3"; choose from/,
    );
  });

  it('a data folder without the dataset file', async () => {
    await expect(evalText('ptb', folderReader(tmpdir()), 512)).rejects.toThrow(/not found/);
  });

  it('unknown flags, unsupported bit widths, activation bits outside RPTQ', () => {
    expect(() => parseArgs(['m', '--wbitz', '4'])).toThrow(OptionsError);
    expect(() => parseArgs(['m', '--method', 'gptq', '--wbits', '4', '--abits', '4'])).toThrow(
      '--abits is an option of rptq and duquant, which this recipe does not run (its steps: gptq)',
    );
    expect(() => parseArgs(['m', '--abits', '1'])).toThrow(/--abits must be 2..8, or 16/);
    // seed-compatible inference: activation bits imply RPTQ, then GPTQ at the default 4 bits (the seeds' W4A4)
    expect(parseArgs(['m', '--abits', '4']).recipe.steps.map((s) => s.method)).toEqual(['rptq', 'gptq']);
    expect(() => parseArgs(['m', '--eval_windows', '0'])).toThrow(/positive integer/);
  });

  it('generation settings: each refused by name, and none without a prompt', () => {
    expect(() => parseArgs(['m', '--temperature', '0.7'])).toThrow('--temperature sets how text is generated');
    expect(() => parseArgs(['m', '--generate', 'Hi', '--top_p', '0'])).toThrow(/top-p 0 is not in \(0, 1\]/);
    expect(() => parseArgs(['m', '--generate', 'Hi', '--max_new_tokens', '0'])).toThrow(/--max_new_tokens/);
    expect(() => parseArgs(['m', '--generate', ' '])).toThrow(/needs a prompt/);
    expect(parseArgs(['m', '--generate', 'Hi', '--top_k', '5', '--temperature', '0.8']).generate).toEqual({
      prompt: 'Hi',
      maxNewTokens: 64,
      temperature: 0.8,
      topK: 5,
      topP: 1,
      repetitionPenalty: 1,
      seed: 0,
    });
  });
});
