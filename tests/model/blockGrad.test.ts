// The block's forward-with-tape is the decoder's block, and its backward is the gradient of the block's output with
// respect to every linear layer's weights: checked against central finite differences in f64 on a real window through
// block 0 of stories260K (RMSNorm, RoPE, GQA, SiLU·mul) with DuQuant-like online rotations at every linear input, and
// of opt-tiny (LayerNorm with bias, learned positions, ReLU, biases). Without activation quantizers the block is smooth,
// so finite differences are exact; the quantizers' straight-through gradients are checked op by op (steQuant.test.ts).
import { describe, expect, it } from 'vitest';
import * as ref from '../../src/gpu/reference.ts';
import type { CpuTensor } from '../../src/gpu/reference.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { BlockGrad } from '../../src/model/blockGrad.ts';
import { Decoder } from '../../src/model/forward.ts';
import { linearRoles } from '../../src/model/families.ts';
import { WeightStore, type BlockWeights } from '../../src/model/weights.ts';
import { hadamard } from '../../src/quant/rotation.ts';
import { MODELS, loadFixture } from '../helpers.ts';

const f64 = (t: CpuTensor): CpuTensor => ref.cpu(Float64Array.from(t.data) as unknown as Float32Array, [...t.shape]);
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

/** block 0 of a fixture, its embedded window, every tensor in f64; stories260K also gets online rotations */
async function setup(path: string, rotate: boolean) {
  const m = await loadFixture(path);
  const be = referenceBackend();
  const store = new WeightStore(be, m.config, m.checkpoint);
  const dec = new Decoder(be, m.config, store);
  const ids = m.tokenizer.encode('Once upon a time, there was a little dog named Max. He liked to run.').slice(0, 24);
  const x = f64(await dec.embed(ids));
  const w0 = await store.block(0);
  const w: BlockWeights<CpuTensor> = {
    attnNorm: { g: f64(w0.attnNorm.g), b: w0.attnNorm.b && f64(w0.attnNorm.b) },
    ffnNorm: { g: f64(w0.ffnNorm.g), b: w0.ffnNorm.b && f64(w0.ffnNorm.b) },
    linears: Object.fromEntries(
      Object.entries(w0.linears).map(([r, l]) => [r, { W: f64(l!.W!), b: l!.b && f64(l!.b) }]),
    ),
  };
  if (rotate) {
    // an orthogonal block rotation (a Hadamard of 8) with a permutation at the FFN norm, as DuQuant's online steps
    const R = f64(ref.cpu(Float32Array.from(hadamard(8)), [1, 8, 8]));
    const perm = Uint32Array.from({ length: m.config.hidden }, (_, i) => (i * 5) % m.config.hidden);
    w.rotations = {
      attn_norm: [{ R, n: 8, perm: null }],
      ffn_norm: [{ R, n: 8, perm: perm as never }],
      q: [{ R, n: 8, perm: null }],
      k: [{ R, n: 8, perm: null }],
    };
  }
  const g = await store.global();
  const rope = g.rope && { cos: f64(g.rope.cos), sin: f64(g.rope.sin) };
  return { m, be, dec, x, w, rope, w0 };
}

describe('the block backward (blockGrad.ts)', () => {
  for (const [name, path, rotate] of [
    ['stories260K with rotations', MODELS.stories260K, true],
    ['opt-tiny', MODELS.optTiny, false],
  ] as const) {
    it(`${name}: the forward is Decoder.block, the weights' gradients match finite differences (f64)`, async () => {
      const { m, be, dec, x, w, rope } = await setup(path, rotate);
      const grad = new BlockGrad(be, m.config, rope);
      const { out, tape } = grad.forward(w, x);
      grad.releaseTape(tape);
      const h = ref.cpu(x.data.slice(), [...x.shape]);
      await dec.block(0, h, w);
      let d = 0;
      out.data.forEach((v, i) => (d = Math.max(d, Math.abs(v - h.data[i]))));
      expect(d).toBeLessThan(1e-12);

      const r = rng(17);
      const wt = ref.cpu(Float64Array.from({ length: out.data.length }, r) as unknown as Float32Array, [...out.shape]);
      const loss = () => {
        const { out: y, tape: t } = grad.forward(w, x);
        grad.releaseTape(t);
        let s = 0;
        y.data.forEach((v, i) => (s += v * wt.data[i]));
        return s;
      };
      const t = grad.forward(w, x);
      const dW = grad.backward(w, t.tape, ref.cpu(wt.data.slice(), [...wt.shape]));
      for (const role of linearRoles(m.config)) {
        const W = w.linears[role]!.W!;
        const eps = 1e-6 * Math.max(...W.data.map(Math.abs));
        let num = 0;
        let den = 0;
        for (let k = 0; k < 12; k++) {
          const i = Math.floor(((k + 0.37) * W.data.length) / 12);
          const w0 = W.data[i];
          W.data[i] = w0 + eps;
          const plus = loss();
          W.data[i] = w0 - eps;
          const minus = loss();
          W.data[i] = w0;
          const fd = (plus - minus) / (2 * eps);
          num += (fd - dW[role].data[i]) ** 2;
          den += dW[role].data[i] ** 2;
        }
        expect(den, role).toBeGreaterThan(0);
        console.log(`${name} ${role}: dW against finite differences ${Math.sqrt(num / den).toExponential(2)}`);
        expect(Math.sqrt(num / den), `${name} ${role}`).toBeLessThan(1e-4);
      }
    });
  }
});
