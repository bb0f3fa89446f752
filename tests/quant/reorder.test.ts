// RPTQ acceptance 2: reorder alone (no quantization) leaves perplexity unchanged, to 1e-4 relative, with random
// permutations at every reorder point of every block (R2 on OPT; LLaMA's rotary R2 is refused plainly).
import { describe, expect, it } from 'vitest';
import { gpuBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { perplexity, tokenizeEval } from '../../src/eval/perplexity.ts';
import { reorderBlock, type BlockReorder } from '../../src/quant/reorder.ts';
import { SeededRandom } from '../../src/quant/random.ts';
import { LabError } from '../../src/errors.ts';
import * as ops from '../../src/gpu/ops.ts';
import * as ref from '../../src/gpu/reference.ts';
import { MODELS, TOL, loadFixture, relErr, sharedGpu } from '../helpers.ts';

function shuffle(n: number, rng: SeededRandom): Uint32Array {
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** a random permutation inside each head */
function perHead(heads: number, D: number, rng: SeededRandom): Uint32Array {
  const p = new Uint32Array(heads * D);
  for (let h = 0; h < heads; h++) shuffle(D, rng).forEach((j, i) => (p[h * D + i] = h * D + j));
  return p;
}

describe('reorder folded into the weights', () => {
  it('the norm kernels apply an output permutation like their twins', async () => {
    const gpu = await sharedGpu();
    const m = await loadFixture(MODELS.optTiny);
    const E = ref.cpu(await m.checkpoint.readF32('model.decoder.embed_tokens.weight'), [512, 128]);
    const x = ref.embed(
      E,
      Uint32Array.from({ length: 70 }, (_, i) => (i * 13) % 512),
    );
    const g = ref.cpu(await m.checkpoint.readF32('model.decoder.layers.0.self_attn_layer_norm.weight'), [128]);
    const b = ref.cpu(await m.checkpoint.readF32('model.decoder.layers.0.self_attn_layer_norm.bias'), [128]);
    const perm = shuffle(128, new SeededRandom(3));
    const up = (t: ref.CpuTensor) => gpu.upload(t.data, t.shape);
    const pg = gpu.upload(perm, [128]);
    expect(
      relErr(
        await gpu.read(ops.layerNorm(gpu, up(x), up(g), up(b), 1e-5, pg)),
        ref.layerNorm(x, g, b, 1e-5, perm).data,
      ),
    ).toBeLessThan(TOL.f32);
    expect(
      relErr(await gpu.read(ops.rmsNorm(gpu, up(x), up(g), 1e-5, pg)), ref.rmsNorm(x, g, 1e-5, perm).data),
    ).toBeLessThan(TOL.f32);
  });

  it.each([
    ['opt-tiny', MODELS.optTiny, true],
    ['stories260K', MODELS.stories260K, false],
  ] as const)('%s: perplexity unchanged to 1e-4 with R1–R5 reordered in every block', async (_, path, withR2) => {
    const gpu = await sharedGpu();
    const m = await loadFixture(path);
    const cfg = m.config;
    const be = gpuBackend(gpu);
    const ids = tokenizeEval(m.tokenizer, await evalText('tinystories', folderReader(), 256));
    const plain = new Decoder(be, cfg, new WeightStore(be, cfg, m.checkpoint));
    const before = await perplexity(plain, ids, 256, { windows: 4 });

    const store = new WeightStore(be, cfg, m.checkpoint);
    const rng = new SeededRandom(11);
    for (let i = 0; i < cfg.layers; i++) {
      const r: BlockReorder = {
        R1: shuffle(cfg.hidden, rng),
        R3: perHead(cfg.kvHeads, cfg.headDim, rng),
        R4: shuffle(cfg.hidden, rng),
        R5: shuffle(cfg.ffn, rng),
        ...(withR2 ? { R2: perHead(cfg.kvHeads, cfg.headDim, rng) } : {}),
      };
      store.replace(i, store.upload(reorderBlock(await store.hostBlock(i), r, cfg)));
    }
    const after = await perplexity(new Decoder(be, cfg, store), ids, 256, { windows: 4 });
    console.log(`${_}: ${before.ppl} → ${after.ppl} after reorder`);
    expect(Math.abs(after.ppl / before.ppl - 1)).toBeLessThan(1e-4);
  });

  it('refuses a non-permutation, a head-crossing R2/R3, and rotary R2 (not implemented) with clear errors', async () => {
    const m = await loadFixture(MODELS.stories260K);
    const store = new WeightStore(gpuBackend(await sharedGpu()), m.config, m.checkpoint);
    const h = await store.hostBlock(0);
    const D = m.config.headDim;
    const swapHeads = Uint32Array.from({ length: 4 * D }, (_, i) => (i + D) % (4 * D));
    expect(() => reorderBlock(h, { R1: new Uint32Array(64) }, m.config)).toThrow(/not a permutation/);
    expect(() => reorderBlock(h, { R3: swapHeads }, m.config)).toThrow(/out of its head/);
    expect(() => reorderBlock(h, { R2: perHead(4, D, new SeededRandom(1)) }, m.config)).toThrow(LabError);
  });
});
