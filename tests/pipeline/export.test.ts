// Export and import on the real fixtures: a run written as a GPTQ checkpoint (or a fake-quantized F16 one) and loaded
// back as a model evaluates to the run's perplexity; a bundle restores the run's figures and its weight views.
// The runs quantize with --f16_scales, so the run's weights are exactly what the checkpoint stores (scales in f16).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODELS, sharedGpu } from '../helpers.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderSink } from '../../src/model/sink.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { exportRun, recipeRefusal, type SaveFormat } from '../../src/pipeline/export.ts';
import { importBundle } from '../../src/pipeline/bundle.ts';
import { memoryCache } from '../../src/pipeline/cache.ts';
import { weightView } from '../../src/pipeline/inspect.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { Checkpoint } from '../../src/model/safetensors.ts';
import { writeSafetensors, type TensorPlan } from '../../src/model/safetensorsWriter.ts';
import { loadModel } from '../../src/model/load.ts';
import { probeModel } from '../../src/pipeline/probe.ts';
import { WeightStore, type WeightStorage } from '../../src/model/weights.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { hubSource } from '../../src/model/source.ts';
import { startLocalHub } from '../fixtures.ts';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'quantlab-export-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const EVAL = { datasets: ['tinystories'], seqlen: 128, windows: 2 };
const CALIB = { calib: 'tinystories', nsamples: 2, seqlen: 128, scales16: true };

/** Quantizes, exports in a format, and evaluates the export as a model. */
async function roundTrip(
  model: string,
  steps: ({ method: string } & Record<string, unknown>)[],
  format: SaveFormat,
  weights: WeightStorage = 'auto',
) {
  const gpu = await sharedGpu();
  const cache = memoryCache();
  const run = await runExperiment(
    { ...EVAL, skipBefore: true, weights, recipe: makeRecipe({ ...CALIB, steps }) },
    { source: folderSource(model), readText: folderReader(), gpu, cache },
  );
  const dir = tmp();
  const report = await exportRun(format, run, { source: folderSource(model), cache, sink: await folderSink(dir) });
  const back = await runExperiment({ ...EVAL, weights }, { source: folderSource(dir), readText: folderReader(), gpu });
  return { run, back, dir, report, cache };
}

const rel = (a: number, b: number) => Math.abs(a - b) / b;

/** opt-tiny RTN W3 per row exported as a GPTQ checkpoint: shared by the round trip, the bundle and the tampering tests */
let rtnW3: ReturnType<typeof roundTrip> | null = null;
const optTinyRtnW3 = () => (rtnW3 ??= roundTrip(MODELS.optTiny, [{ method: 'rtn', wbits: 3, groupsize: -1 }], 'gptq'));

describe('GPTQ-format export, loaded back as a model', () => {
  it('opt-tiny GPTQ W4 g32 act-order: the checkpoint evaluates to the run (f16 scales)', async () => {
    const { run, back, dir, report, cache } = await roundTrip(
      MODELS.optTiny,
      [{ method: 'gptq', wbits: 4, groupsize: 32, actOrder: true }],
      'gptq',
    );
    expect(rel(back.ppl.tinystories, run.ppl.tinystories)).toBeLessThanOrEqual(1e-4);
    expect(back.checkpoint).toEqual({ format: 'gptq', bits: 4, groupSize: 32, descAct: true, sym: false });
    // Inspect: the run's layer and the checkpoint's packed layer show the same codes, zero points and scales
    const ran = await weightView(folderSource(MODELS.optTiny), cache, run.quant!.blockKey, 1, 'down');
    const packed = await weightView(folderSource(dir), memoryCache(), undefined, 1, 'down');
    expect(packed.fromCheckpoint).toBe(true);
    expect(packed.grid!.codes).toEqual(ran.grid!.codes);
    expect(packed.grid!.codes.reduce((a, b) => a + b)).toBe(128 * 512);
    expect(packed.grid!.zeros).toEqual(ran.grid!.zeros);
    expect(packed.grid!.scales).toEqual(ran.grid!.scales);
    expect(packed.grid).toMatchObject({ bits: 4, groups: 16, actOrder: true });
    expect(packed.histogram.quant).toEqual(packed.histogram.fp);
    const q = JSON.parse(readFileSync(join(dir, 'quantize_config.json'), 'utf8'));
    expect(q).toMatchObject({
      bits: 4,
      group_size: 32,
      desc_act: true,
      sym: false,
      quant_method: 'gptq',
      checkpoint_format: 'gptq',
    });
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).quantization_config).toEqual(q);
    const ckpt = await Checkpoint.open((f) => folderSource(dir).open(f));
    const p = 'model.decoder.layers.0.fc2';
    expect(ckpt.info(`${p}.qweight`)).toMatchObject({ dtype: 'I32', shape: [(512 * 4) / 32, 128] });
    expect(ckpt.info(`${p}.qzeros`)).toMatchObject({ dtype: 'I32', shape: [16, (128 * 4) / 32] });
    expect(ckpt.info(`${p}.scales`)).toMatchObject({ dtype: 'F16', shape: [16, 128] });
    // act-order: g_idx is not k / 32
    const gIdx = await ckpt.readU32(`${p}.g_idx`);
    expect(gIdx.some((g, k) => g !== Math.floor(k / 32))).toBe(true);
    expect(ckpt.has(`${p}.weight`)).toBe(false);
    // the probe sees a GPTQ checkpoint, and predicts its weights as the dequantized f16 layers the run keeps
    const probe = await probeModel(folderSource(dir), null);
    expect(probe.config.gptq).toEqual({ bits: 4, groupSize: 32, descAct: true, sym: false });
    expect(probe.memory.weightBytes).toBe((await probeModel(folderSource(MODELS.optTiny), null)).memory.weightBytes);
    expect(report.notes.filter((n) => n.includes('rounded'))).toEqual([]);
  });

  it('opt-tiny RTN W3 per row: 3-bit codes straddling words load back to the run', async () => {
    const { run, back } = await optTinyRtnW3();
    expect(rel(back.ppl.tinystories, run.ppl.tinystories)).toBeLessThanOrEqual(1e-4);
  });

  it("stories260K's FFN width (172) cannot be packed: a specific refusal, before the run", async () => {
    const { config } = await loadModel(folderSource(MODELS.stories260K));
    expect(recipeRefusal('gptq', makeRecipe({ steps: [{ method: 'rtn', wbits: 3 }] }), config)).toBe(
      'gate_proj has 172 outputs: 3-bit zero points pack along the outputs in whole 32-bit words, so the output width must be a multiple of 32',
    );
    expect(recipeRefusal('gptq', makeRecipe({ steps: [{ method: 'rtn', wbits: 8 }] }), config)).toBeNull();
    expect(recipeRefusal('gptq', makeRecipe({ steps: [{ method: 'rtn', wbits: 5 }] }), config)).toBe(
      'the gptq format packs 2, 3, 4, 8 bits, not 5',
    );
    expect(recipeRefusal('gptq', makeRecipe({ steps: [{ method: 'claq', wbits: 3 }] }), config)).toBe(
      'the gptq format stores a uniform grid per group; CLAQ does not quantize on one',
    );
    expect(
      recipeRefusal('fake', makeRecipe({ steps: [{ method: 'duquant' }, { method: 'rtn', wbits: 4 }] }), config),
    ).toMatch(/DuQuant's online rotations cannot be written as a plain checkpoint/);
  });
});

describe('a GPTQ checkpoint quantized again', () => {
  it('exports like any model: its packed tensors are replaced, not copied', async () => {
    const { dir } = await optTinyRtnW3();
    const { run, back, dir: again } = await roundTrip(dir, [{ method: 'rtn', wbits: 8, groupsize: 64 }], 'gptq');
    expect(rel(back.ppl.tinystories, run.ppl.tinystories)).toBeLessThanOrEqual(1e-4);
    const q = JSON.parse(readFileSync(join(again, 'config.json'), 'utf8')).quantization_config;
    expect(q).toMatchObject({ bits: 8, group_size: 64 });
    const ckpt = await Checkpoint.open((f) => folderSource(again).open(f));
    expect(ckpt.info('model.decoder.layers.0.fc1.qweight')!.shape).toEqual([(128 * 8) / 32, 512]);
  });
});

describe('fake-quantized F16 export', () => {
  it("stories260K RTN W3 and GPTQ W4 per row reload with the run's perplexity (an F32 checkpoint stays F32; in f16 storage, F16)", async () => {
    for (const [steps, weights] of [
      [[{ method: 'rtn', wbits: 3 }], 'auto'],
      [[{ method: 'gptq', wbits: 4 }], 'f16'],
    ] as const) {
      const { run, back, dir } = await roundTrip(MODELS.stories260K, [...steps], 'fake', weights);
      expect(rel(back.ppl.tinystories, run.ppl.tinystories)).toBeLessThanOrEqual(1e-4);
      const ckpt = await Checkpoint.open((f) => folderSource(dir).open(f));
      expect(ckpt.info('model.layers.0.mlp.down_proj.weight')!.dtype).toBe(weights === 'auto' ? 'F32' : 'F16');
      expect(ckpt.info('model.norm.weight')!.dtype).toBe('F32');
    }
  });

  it("rptq W4A16: the reorder unfolds into a plain checkpoint with the run's W4A16 perplexity", async () => {
    const { run, back, dir } = await roundTrip(
      MODELS.optTiny,
      [
        { method: 'rptq', abits: 16 },
        { method: 'gptq', wbits: 4 },
      ],
      'fake',
    );
    expect(run.config.abits).toBe(16);
    expect(rel(back.ppl.tinystories, run.ppl.tinystories)).toBeLessThanOrEqual(1e-4);
    const file = readFileSync(join(dir, 'model.safetensors'));
    const header = JSON.parse(file.subarray(8, 8 + Number(file.readBigUInt64LE(0))).toString('utf8'));
    expect(JSON.parse(header.__metadata__.quantlab).leftOut).toEqual([]);
  });

  it('rptq W4A4 says what the checkpoint leaves out', async () => {
    const gpu = await sharedGpu();
    const cache = memoryCache();
    const run = await runExperiment(
      {
        ...EVAL,
        windows: 1,
        skipBefore: true,
        recipe: makeRecipe({
          ...CALIB,
          nsamples: 2,
          hiddenLayerNum: 1,
          steps: [
            { method: 'rptq', abits: 4 },
            { method: 'rtn', wbits: 4 },
          ],
        }),
      },
      { source: folderSource(MODELS.optTiny), readText: folderReader(), gpu, cache },
    );
    const dir = tmp();
    const report = await exportRun('fake', run, {
      source: folderSource(MODELS.optTiny),
      cache,
      sink: await folderSink(dir),
    });
    expect(report.notes.join()).toMatch(
      /left out: activation quantization \(A4, RPTQ's quantizers\): the checkpoint evaluates W4A16/,
    );
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).num_hidden_layers).toBe(1);
    await expect(
      exportRun('gptq', run, { source: folderSource(MODELS.optTiny), cache, sink: await folderSink(tmp()) }),
    ).rejects.toThrow(/gptq format stores weight-only RTN and GPTQ runs; RPTQ changes the activation path/);
  });
});

describe('bundle', () => {
  it('restores the result and the weight views without recomputing', async () => {
    const { run, cache } = await optTinyRtnW3();
    const source = folderSource(MODELS.optTiny);
    const dir = tmp();
    await exportRun('bundle', run, { source, cache, sink: await folderSink(dir) });
    const fresh = memoryCache();
    const back = await importBundle(folderSource(dir), fresh);
    expect(back.ppl).toEqual(run.ppl);
    expect(back.pplBefore).toEqual(run.pplBefore);
    expect(back.quant!.layers).toEqual(run.quant!.layers);
    const [a, b] = [
      await weightView(source, cache, run.quant!.blockKey, 2, 'down'),
      await weightView(source, fresh, back.quant!.blockKey, 2, 'down'),
    ];
    expect(b.relError).toBe(a.relError);
    expect(b.histogram).toEqual(a.histogram);
  });
});

describe('bad GPTQ checkpoints', () => {
  /** a valid GPTQ export of opt-tiny (RTN W3 per row), to tamper with */
  const exported = async () => (await optTinyRtnW3()).dir;
  /** a copy of the export with config.json's quantization_config edited, or the tensors rewritten */
  const tampered = async (edit: {
    quant?: Record<string, unknown>;
    tensors?: (plans: TensorPlan[]) => TensorPlan[];
  }) => {
    const src = await exported();
    const dir = tmp();
    const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'));
    Object.assign(config.quantization_config, edit.quant ?? {});
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      writeFileSync(join(dir, f), readFileSync(join(src, f)));
    const ckpt = await Checkpoint.open((f) => folderSource(src).open(f));
    let plans: TensorPlan[] = ckpt.names().map((name) => {
      const info = ckpt.info(name)!;
      return {
        name,
        dtype: info.dtype,
        shape: info.shape,
        data: async () => new Uint8Array((await ckpt.readRaw(name)).bytes),
      };
    });
    if (edit.tensors) plans = edit.tensors(plans);
    await writeSafetensors(await (await folderSink(dir)).file('model.safetensors'), plans);
    return folderSource(dir);
  };
  const loadAndCheck = async (source: ReturnType<typeof folderSource>) => {
    const m = await loadModel(source);
    new WeightStore(referenceBackend(), m.config, m.checkpoint).validate();
  };
  const q0 = 'model.decoder.layers.0.self_attn.q_proj';

  it('a wrong qweight shape', async () => {
    const s = await tampered({
      tensors: (p) =>
        p.map((t) =>
          t.name === `${q0}.qweight` ? { ...t, shape: [8, 256], data: async () => new Uint32Array(8 * 256) } : t,
        ),
    });
    await expect(loadAndCheck(s)).rejects.toThrow(
      `GPTQ tensor "${q0}.qweight" has shape [8,256]; bits 3, group_size -1 imply [12,128]`,
    );
  });
  it('an unknown checkpoint_format, and gptq_v2 by name', async () => {
    await expect(loadAndCheck(await tampered({ quant: { checkpoint_format: 'exl3' } }))).rejects.toThrow(
      'config.json quantization_config: checkpoint_format "exl3" is not supported; the lab reads checkpoint_format "gptq" (v1)',
    );
    await expect(loadAndCheck(await tampered({ quant: { checkpoint_format: 'gptq_v2' } }))).rejects.toThrow(
      /checkpoint_format "gptq_v2" is not supported \(GPTQModel's v2 stores zero points without v1's −1/,
    );
  });
  it('a missing g_idx', async () => {
    const s = await tampered({ tensors: (p) => p.filter((t) => t.name !== `${q0}.g_idx`) });
    await expect(loadAndCheck(s)).rejects.toThrow(`GPTQ layer "${q0}" has no g_idx`);
  });
  it("an older AutoGPTQ repository's file named by model_file_base_name loads", async () => {
    const s = await tampered({ quant: { model_file_base_name: 'gptq_model-4bit-32g' } });
    const { renameSync } = await import('node:fs');
    renameSync(join(s.id, 'model.safetensors'), join(s.id, 'gptq_model-4bit-32g.safetensors'));
    await loadAndCheck(s);
  });
  it('a GPTQ repository on the Hub (a local server answering its paths) loads the same weights as the folder', async () => {
    const dir = await exported();
    const hub = await startLocalHub({ 'lab/opt-tiny-W4-GPTQ': dir });
    try {
      const nll = async (source: ReturnType<typeof folderSource>) => {
        const m = await loadModel(source);
        const be = referenceBackend();
        const w = new WeightStore(be, m.config, m.checkpoint);
        w.validate();
        return new Decoder(be, m.config, w).windowNll(m.tokenizer.encode('Once upon a time, there was a little dog.'));
      };
      expect(await nll(hubSource('lab/opt-tiny-W4-GPTQ', 'main', hub.url))).toEqual(await nll(folderSource(dir)));
    } finally {
      await hub.close();
    }
  });
  it('bits 5', async () => {
    await expect(loadAndCheck(await tampered({ quant: { bits: 5 } }))).rejects.toThrow(
      'config.json quantization_config: bits 5 is not supported; GPTQ checkpoints pack 2, 3, 4, 8 bits',
    );
  });
});
