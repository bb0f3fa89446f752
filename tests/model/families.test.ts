// The model families as one table, proved with Phi-3: stories260K (a trained LLaMA) rewritten as a Phi-3 checkpoint —
// q, k, v fused into qkv_proj and gate, up into gate_up_proj, model_type phi3 — is the same model. Its perplexity on
// WebGPU equals the LLaMA form's and the twins' (1e-5), GPTQ W4 gives the LLaMA form's figure, and exports write the
// fused tensors again with the checkpoint's shapes (the fake checkpoint; a GPTQ checkpoint that loads back to the run).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { exportRun } from '../../src/pipeline/export.ts';
import { memoryCache } from '../../src/pipeline/cache.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderSink } from '../../src/model/sink.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { parseConfig } from '../../src/model/config.ts';
import { checkpointModules, familyOf, linearRoles, linearTensor } from '../../src/model/families.ts';
import { checkpointTensors, synthConfig } from '../../src/cli/synth.ts';
import type { EvalRequest } from '../../src/pipeline/types.ts';
import { MODELS, sharedGpu } from '../helpers.ts';
import { readSafetensors, writeSafetensors, type RawTensor } from '../fixtures.ts';
import { toHalfBits } from '../../src/gpu/half.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `quantlab-${name}-`));
  dirs.push(d);
  return d;
};

/**
 * stories260K as a Phi-3 checkpoint: its q, k, v rows in one qkv_proj, its gate, up rows in one gate_up_proj (in F16
 * when asked: every tensor as a GPTQ checkpoint of it stores the ones it does not pack).
 */
function asPhi3(f16 = false): string {
  const dir = tempDir('phi3');
  const config = JSON.parse(readFileSync(join(MODELS.stories260K, 'config.json'), 'utf8'));
  const phi3 = { ...config, model_type: 'phi3', architectures: ['Phi3ForCausalLM'] };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(phi3));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(MODELS.stories260K, f), join(dir, f));
  const llama = readSafetensors(join(MODELS.stories260K, 'model.safetensors'));
  const out: Record<string, RawTensor> = {};
  const fuse = (parts: string[]): RawTensor => ({
    dtype: 'F32',
    shape: [parts.reduce((n, p) => n + llama[p].shape[0], 0), llama[parts[0]].shape[1]],
    data: Buffer.concat(parts.map((p) => Buffer.from(llama[p].data))),
  });
  for (const [name, t] of Object.entries(llama)) {
    const m = /^(model\.layers\.\d+)\.(self_attn|mlp)\.(q|k|v|gate|up)_proj\.weight$/.exec(name);
    if (!m) out[name] = t;
    else if (m[3] === 'q')
      out[`${m[1]}.self_attn.qkv_proj.weight`] = fuse(['q', 'k', 'v'].map((r) => `${m[1]}.self_attn.${r}_proj.weight`));
    else if (m[3] === 'gate')
      out[`${m[1]}.mlp.gate_up_proj.weight`] = fuse(['gate', 'up'].map((r) => `${m[1]}.mlp.${r}_proj.weight`));
  }
  const half = (t: RawTensor): RawTensor => ({
    dtype: 'F16',
    shape: t.shape,
    data: new Uint8Array(toHalfBits(new Float32Array(new Uint8Array(t.data).buffer), 'f16').buffer),
  });
  writeFileSync(
    join(dir, 'model.safetensors'),
    writeSafetensors(f16 ? Object.fromEntries(Object.entries(out).map(([n, t]) => [n, half(t)])) : out),
  );
  return dir;
}

let phi3: string;
beforeAll(() => {
  phi3 = asPhi3();
});

const EVAL: EvalRequest = { datasets: ['tinystories'], seqlen: 128, windows: 2 };
const run = async (model: string, req: Partial<EvalRequest> = {}, cache = memoryCache()) =>
  runExperiment(
    { ...EVAL, ...req },
    { source: folderSource(model), readText: folderReader(), gpu: await sharedGpu(), cache },
  );

describe('model families as one table: Phi-3 proves it', () => {
  it('the table: Phi-3 splits qkv_proj and gate_up_proj into the LLaMA layers; a real Phi-3-mini shape names its fused tensors', () => {
    const cfg = parseConfig(synthConfig('phi3-mini', 1));
    expect(familyOf(cfg).name).toBe('phi3');
    expect(cfg.slidingWindow).toBe(2047);
    expect(linearRoles(cfg)).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
    expect(checkpointModules(cfg).map((m) => m.module)).toEqual([
      'self_attn.qkv_proj',
      'self_attn.o_proj',
      'mlp.gate_up_proj',
      'mlp.down_proj',
    ]);
    expect(linearTensor(cfg, 0, 'k')).toEqual({ module: 'model.layers.0.self_attn.qkv_proj', rows: [3072, 6144] });
    expect(linearTensor(cfg, 0, 'up')).toEqual({ module: 'model.layers.0.mlp.gate_up_proj', rows: [8192, 16384] });
    const shapes = Object.fromEntries(checkpointTensors(cfg).map((t) => [t.name, t.shape]));
    expect(shapes['model.layers.0.self_attn.qkv_proj.weight']).toEqual([9216, 3072]);
    expect(shapes['model.layers.0.mlp.gate_up_proj.weight']).toEqual([16384, 3072]);
    expect(shapes['model.layers.0.self_attn.q_proj.weight']).toBeUndefined();
    expect(() =>
      parseConfig({
        ...synthConfig('phi3-mini', 1),
        rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] },
      }),
    ).toThrow(/rope_scaling "longrope" \(the 128k-context models\) is not supported/);
  });

  it('stories260K as Phi-3: the same perplexity as its LLaMA form on WebGPU, and the twins agree within 1e-5', async () => {
    const [llama, fused, twins] = await Promise.all([
      run(MODELS.stories260K),
      run(phi3),
      run(phi3, { backend: 'reference' }),
    ]);
    console.log(
      `FP tinystories 2 × 128: LLaMA form ${llama.ppl.tinystories}, Phi-3 form ${fused.ppl.tinystories}, twins ${twins.ppl.tinystories}`,
    );
    expect(fused.modelType).toBe('phi3');
    expect(fused.modelConfig?.family).toBe('phi3');
    expect(Math.abs(fused.ppl.tinystories / llama.ppl.tinystories - 1)).toBeLessThan(1e-5);
    expect(Math.abs(twins.ppl.tinystories / fused.ppl.tinystories - 1)).toBeLessThan(1e-5);
  });

  it("GPTQ W4 on the Phi-3 form gives the LLaMA form's figure; the fake export writes qkv_proj and gate_up_proj again", async () => {
    const recipe = makeRecipe({
      calib: 'tinystories',
      nsamples: 2,
      seqlen: 128,
      steps: [{ method: 'gptq', wbits: 4 }],
    });
    const cache = memoryCache();
    const [llama, fused] = await Promise.all([
      run(MODELS.stories260K, { recipe, skipBefore: true }),
      run(phi3, { recipe, skipBefore: true }, cache),
    ]);
    console.log(`GPTQ W4: LLaMA form ${llama.ppl.tinystories}, Phi-3 form ${fused.ppl.tinystories}`);
    expect(Math.abs(fused.ppl.tinystories / llama.ppl.tinystories - 1)).toBeLessThan(1e-5);
    expect(fused.quant!.layers.map((l) => l.linear)).toEqual(llama.quant!.layers.map((l) => l.linear));
    const out = tempDir('phi3-fake');
    await exportRun('fake', fused, { source: folderSource(phi3), cache, sink: await folderSink(out) });
    const written = readSafetensors(join(out, 'model.safetensors'));
    const original = readSafetensors(join(phi3, 'model.safetensors'));
    expect(Object.keys(written).sort()).toEqual(Object.keys(original).sort());
    for (const n of Object.keys(original)) expect(written[n].shape, n).toEqual(original[n].shape);
    expect(written['model.layers.0.self_attn.qkv_proj.weight'].shape).toEqual([128, 64]);
    expect(written['model.layers.0.mlp.gate_up_proj.weight'].shape).toEqual([344, 64]);
  });

  it('RTN W8 on the Phi-3 form (F16) exported as GPTQ packs each fused module as one layer and loads back to the run', async () => {
    const recipe = makeRecipe({
      calib: 'tinystories',
      nsamples: 1,
      seqlen: 128,
      scales16: true,
      steps: [{ method: 'rtn', wbits: 8 }],
    });
    const cache = memoryCache();
    const phi3f16 = asPhi3(true);
    const quantized = await run(phi3f16, { recipe, skipBefore: true, windows: 1 }, cache);
    const out = tempDir('phi3-gptq');
    await exportRun('gptq', quantized, { source: folderSource(phi3f16), cache, sink: await folderSink(out) });
    const buf = readFileSync(join(out, 'model.safetensors'));
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString());
    expect(header['model.layers.0.self_attn.qkv_proj.qweight'].shape).toEqual([(64 * 8) / 32, 128]);
    expect(header['model.layers.0.mlp.gate_up_proj.scales'].shape).toEqual([1, 344]);
    expect(header['model.layers.0.self_attn.q_proj.qweight']).toBeUndefined();
    const loaded = await run(out, { windows: 1 });
    console.log(
      `RTN W8 f16 scales, Phi-3 form: run ${quantized.ppl.tinystories}, its GPTQ export loaded ${loaded.ppl.tinystories}`,
    );
    expect(Math.abs(loaded.ppl.tinystories / quantized.ppl.tinystories - 1)).toBeLessThan(1e-5);
  });
});
