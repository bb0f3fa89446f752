// The forward pass's own promises: named hook points, block streaming, NaN/Inf detection that names the block,
// and the CLI on a Hub id.
import { describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpuBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { loadModel } from '../../src/model/load.ts';
import { NonFiniteError } from '../../src/errors.ts';
import { main } from '../../src/cli/main.ts';
import { MODELS, loadFixture, sharedGpu } from '../helpers.ts';
import { readSafetensors, startLocalHub, writeSafetensors } from '../fixtures.ts';
import { readFile } from 'node:fs/promises';

const PROMPT = 'One day, a little girl named Lily found a needle in her room.';

describe('forward pass', () => {
  it('calls every hook point of every block, in order, with the right shapes (LLaMA and OPT)', async () => {
    const gpu = await sharedGpu();
    for (const [path, linears] of [
      [MODELS.stories260K, ['q', 'k', 'v', 'o', 'gate', 'up', 'down']],
      [MODELS.optTiny, ['q', 'k', 'v', 'o', 'up', 'down']],
    ] as const) {
      const m = await loadFixture(path);
      const be = gpuBackend(gpu);
      const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
      const seen: string[] = [];
      const ids = m.tokenizer.encode(PROMPT);
      await dec.windowNll(ids, {
        taps: (layer, point, x) => {
          seen.push(`${layer}:${point}`);
          if (point === 'attn_norm') expect(x.shape).toEqual([ids.length, m.config.hidden]);
        },
      });
      const perBlock = ['attn_norm', ...linears.slice(0, 3).flatMap((l) => [`${l}.in`, `${l}.out`])];
      expect(seen.filter((s) => s.startsWith('0:')).slice(0, perBlock.length)).toEqual(perBlock.map((p) => `0:${p}`));
      for (const l of linears) expect(seen).toContain(`${m.config.layers - 1}:${l}.in`);
      expect(seen).toContain(`${m.config.layers - 1}:ffn_norm`);
    }
  });

  it('streaming blocks one at a time gives the same result as keeping them resident', async () => {
    const gpu = await sharedGpu();
    const m = await loadFixture(MODELS.optTiny);
    const ids = m.tokenizer.encode(PROMPT);
    const be = gpuBackend(gpu);
    const live0 = gpu.liveBytes;
    const residentStore = new WeightStore(be, m.config, m.checkpoint);
    const resident = await new Decoder(be, m.config, residentStore).windowNll(ids);
    const residentBytes = gpu.liveBytes - live0;
    residentStore.dispose();
    const streamed = await new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint, 0)).windowNll(ids);
    expect(Array.from(streamed)).toEqual(Array.from(resident));
    // after a streamed pass only the globals stay (embeddings, positions, final norm): under a third of the model
    expect(gpu.liveBytes - live0).toBeLessThan(residentBytes / 3);
  });

  it('names the first block that produces NaN/Inf', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'quantlab-nan-'));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(MODELS.stories260K, f), join(dir, f));
    const tensors = readSafetensors(join(MODELS.stories260K, 'model.safetensors'));
    const t = tensors['model.layers.2.mlp.down_proj.weight'];
    const f = new Float32Array(new Uint8Array(t.data).buffer); // a copy: Buffer.slice would share the file's memory
    f.fill(3e38); // overflows to Inf in the matmul, as a silent fp16 overflow would
    t.data = new Uint8Array(f.buffer);
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
    const m = await loadModel(folderSource(dir));
    const be = gpuBackend(await sharedGpu());
    const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
    await expect(dec.windowNll(m.tokenizer.encode(PROMPT), { checkFinite: true })).rejects.toThrow(NonFiniteError);
    await expect(dec.windowNll(m.tokenizer.encode(PROMPT), { checkFinite: true })).rejects.toThrow(
      /first non-finite block: 2/,
    );
  });

  it("the command line loads a Hub repo id (local Hub server), resident or streamed, and gives the folder's figure", async () => {
    const hub = await startLocalHub({ 'karpathy/stories260K': MODELS.stories260K });
    try {
      const run = async (model: string, extra: string[]) => {
        const json = join(tmpdir(), `quantlab-hub-${Math.random().toString(36).slice(2)}.json`);
        expect(
          await main([
            model,
            ...extra,
            '--eval_ppl',
            'tinystories',
            '--seqlen',
            '256',
            '--eval_windows',
            '2',
            '--json',
            json,
          ]),
        ).toBe(0);
        return JSON.parse(await readFile(json, 'utf8')).ppl.tinystories as number;
      };
      const viaHub = await run('karpathy/stories260K', ['--hub_url', hub.url]);
      const local = await run(MODELS.stories260K, []);
      expect(viaHub).toBeCloseTo(local, 10);
      // no room for resident blocks: every block streams from the (local) Hub per window, same figure
      expect(await run('karpathy/stories260K', ['--hub_url', hub.url, '--resident_mb', '0'])).toBeCloseTo(local, 10);
    } finally {
      await hub.close();
    }
  });
});
