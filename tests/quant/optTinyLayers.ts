// Two real linear layers with real calibration inputs, shared by the GPTQ and CLAQ tests: opt-tiny block 1's fc1
// [512, 128] with its inputs (the FFN-norm output) and fc2 [128, 512] with its inputs (after ReLU), from one text.
import * as ref from '../../src/gpu/reference.ts';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { MODELS, loadFixture } from '../helpers.ts';

export interface OptTinyLayers {
  X128: ref.CpuTensor;
  X512: ref.CpuTensor;
  W1: ref.CpuTensor;
  W2: ref.CpuTensor;
}

export async function optTinyBlock1(): Promise<OptTinyLayers> {
  const m = await loadFixture(MODELS.optTiny);
  const be = referenceBackend();
  const dec = new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint));
  const text =
    'Tim and his mom went to the park. They saw a big red ball under a tree, and Tim ran to get it. "Look, mom!" he said. ';
  let X128: ref.CpuTensor | undefined;
  let X512: ref.CpuTensor | undefined;
  await dec.windowNll(m.tokenizer.encode(text.repeat(6)).slice(0, 400), {
    taps: (layer, point, x) => {
      if (layer !== 1) return;
      if (point === 'ffn_norm') X128 = ref.cpu(x.data.slice(), [...x.shape]);
      if (point === 'down.in') X512 = ref.cpu(x.data.slice(), [...x.shape]);
    },
  });
  return {
    X128: X128!,
    X512: X512!,
    W1: ref.cpu(await m.checkpoint.readF32('model.decoder.layers.1.fc1.weight'), [512, 128]),
    W2: ref.cpu(await m.checkpoint.readF32('model.decoder.layers.1.fc2.weight'), [128, 512]),
  };
}

/** H = (2/n) XᵀX in f32, as the kernel accumulates it */
export function hessianOf(X: ref.CpuTensor): Float64Array {
  const K = X.shape[1];
  const H = ref.cpu(new Float32Array(K * K), [K, K]);
  ref.hessian(X, H, 0, 2 / X.shape[0]);
  return Float64Array.from(H.data);
}

/** tr((W − Q) H (W − Q)ᵀ): the layer-output error GPTQ and CLAQ minimize */
export function hessianLoss(W: Float32Array, Q: Float32Array, H: Float64Array, R: number, K: number): number {
  let s = 0;
  const d = new Float64Array(K);
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < K; c++) d[c] = W[r * K + c] - Q[r * K + c];
    for (let i = 0; i < K; i++) {
      let hi = 0;
      for (let j = 0; j < K; j++) hi += H[i * K + j] * d[j];
      s += d[i] * hi;
    }
  }
  return s;
}
