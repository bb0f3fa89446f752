// Generation with packed weights (issue 25), a section of `npm run bench` (also alone: `npx tsx bench/generation.ts`):
// synthetic checkpoints of OPT-125m's, OPT-1.3B's and TinyLlama's shapes (npm run synth; --gen_like, --gen_layers
// blocks each, default 2), their decoder layers in f16 as loaded, then RTN W4 g128 and W3 g128 kept packed: prefill
// tokens/s over a --gen_prompt (default 128) token prompt, decode tokens/s over --gen_tokens (default 16) greedy
// tokens with the KV cache, and the bytes of weights one decoded token reads (the decoder layers and lm_head), as
// ratios to f16 in the same run. On a software adapter bandwidth is not the limit: the ratios show the arithmetic.
import '../src/gpu/node.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gpu } from '../src/gpu/gpu.ts';
import { arg, runAlone } from './section.ts';
import { synthesize, type Like } from '../src/cli/synth.ts';
import { gpuBackend } from '../src/gpu/backend.ts';
import { loadModel } from '../src/model/load.ts';
import { folderSource } from '../src/model/source.node.ts';
import { WeightStore } from '../src/model/weights.ts';
import { Decoder } from '../src/model/forward.ts';
import { generate } from '../src/eval/generate.ts';
import { GREEDY } from '../src/eval/sampling.ts';
import { quantizeModel } from '../src/pipeline/quantizeModel.ts';
import { makeRecipe } from '../src/quant/recipe.ts';
import { SeededRandom } from '../src/quant/random.ts';

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

export async function generation(gpu: Gpu, results: Record<string, unknown>): Promise<void> {
  const likes = (arg('gen_like', 'opt-125m,opt-1.3b,tinyllama') ?? '').split(',').filter(Boolean) as Like[];
  const layers = Number(arg('gen_layers', '2'));
  const newTokens = Number(arg('gen_tokens', '16'));
  const promptTokens = Number(arg('gen_prompt', '128'));
  const be = gpuBackend(gpu);
  const rows: Record<string, unknown>[] = [];
  console.log(
    `\ngeneration: ${layers} blocks of each shape, a ${promptTokens}-token prompt, ${newTokens} greedy tokens with the ` +
      'KV cache; weights bytes read per decoded token (decoder layers + lm_head)',
  );
  console.log(
    '| shape | weights | layer bytes | bytes / token | prefill tok/s | decode tok/s | decode vs f16 | bytes vs f16 |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const like of likes) {
    const dir = mkdtempSync(join(tmpdir(), 'quantlab-bench-gen-'));
    try {
      synthesize(like, dir, { layers });
      const m = await loadModel(folderSource(dir));
      const rng = new SeededRandom(1);
      const prompt = Uint32Array.from({ length: promptTokens }, () => rng.int(3, m.config.vocab - 1));
      const calib = [0, 1].map(() => Uint32Array.from({ length: 64 }, () => rng.int(3, m.config.vocab - 1)));
      let f16: { perSecond: number; bytes: number } | null = null;
      for (const wbits of [16, 4, 3]) {
        const weights = new WeightStore(be, m.config, m.checkpoint, Infinity, 'f16');
        const dec = new Decoder(be, m.config, weights);
        for (let i = 0; i < m.config.layers; i++) await weights.block(i);
        if (wbits < 16) {
          const recipe = makeRecipe({
            calib: 'tinystories',
            nsamples: 2,
            seqlen: 64,
            steps: [{ method: 'rtn', wbits, groupsize: 128 }],
          });
          await quantizeModel(recipe, calib, { decoder: dec, weights });
        }
        const g = await weights.global();
        const head = g.lmHead.parts.reduce((s, t) => s + be.shape(t).reduce((a, b) => a * b, 1) * 2, 0);
        const layerBytes = weights.layerBytes();
        const settings = { ...GREEDY, maxNewTokens: 2 };
        await generate(dec, m.tokenizer, prompt.subarray(0, 8), settings); // warm-up: pipelines compile
        const out = await generate(dec, m.tokenizer, prompt, { ...GREEDY, maxNewTokens: newTokens + 1 });
        const bytes = layerBytes + head;
        f16 ??= { perSecond: out.tokensPerSecond, bytes };
        const label = wbits === 16 ? 'f16' : `RTN W${wbits} g128 packed`;
        console.log(
          `| ${like} | ${label} | ${MiB(layerBytes)} | ${MiB(bytes)} | ${((promptTokens * 1000) / out.prefillMs).toFixed(0)} | ` +
            `${out.tokensPerSecond.toFixed(1)} | ${(out.tokensPerSecond / f16.perSecond).toFixed(2)}× | ` +
            `${(bytes / f16.bytes).toFixed(3)}× |`,
        );
        rows.push({
          like,
          layers,
          wbits,
          layerBytes,
          bytesPerToken: bytes,
          prefillTokensPerSecond: (promptTokens * 1000) / out.prefillMs,
          decodeTokensPerSecond: out.tokensPerSecond,
          decodeOverF16: out.tokensPerSecond / f16.perSecond,
          bytesOverF16: bytes / f16.bytes,
        });
        weights.dispose();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  results.generation = rows;
}

await runAlone('generation.ts', generation);
