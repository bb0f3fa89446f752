// Learnable weight clipping (OmniQuant's LWC, as DuQuant's run_lwc.sh trains it; methods.md, "Learnable weight
// clipping"), for one block:
//   targets   the full-precision block's output on the full-precision stream's input (and, with aug_loss, on the
//             quantized stream's input); the full-precision stream advances to those outputs
//   bounds    (up, low) per output row and group of every linear layer, 4.0 at the start: the grid of a group with raw
//             range [min, max] is fitted on [σ(low)·min, σ(up)·max] (lwcQuant)
//   training  epochs × windows steps, in order, batch 1: the block with every layer on its learnable clip and the
//             transform's activation quantizers, on the quantized stream's window; loss = MSE to the target;
//             backward to the layers' weights (blockGrad.ts), then to the bounds (lwcGrad); AdamW on the bounds only
//   a non-finite loss stops the block's training and keeps the bounds that last gave a finite loss
// The weight step then quantizes each layer on the trained bounds (ColumnGroups.bounds). The reference trains under
// fp16 autocast; the lab trains in f32.
import type { Backend } from '../gpu/backend.ts';
import { BlockGrad, untrainable } from '../model/blockGrad.ts';
import type { Decoder } from '../model/forward.ts';
import { linearRoles, type LinearRole } from '../model/families.ts';
import type { BlockWeights, HostBlock } from '../model/weights.ts';
import { CancelledError } from '../errors.ts';
import type { ClipTraining } from './method.ts';

/** torch.optim.AdamW's defaults, which the reference leaves as they are */
const BETA1 = 0.9;
const BETA2 = 0.999;
const EPS = 1e-8;
/** the bounds' initial value (σ(4) ≈ 0.982 of the raw range) */
export const LWC_INIT = 4;

/** What one block's training leaves: the trained bounds and how the loss went. */
export interface ClipTrainingResult {
  /** per linear role: (up, low) per (row, group), [R, groups, 2] */
  bounds: Partial<Record<LinearRole, Float32Array>>;
  /** the mean loss of each epoch trained */
  losses: number[];
  /** why training stopped early (a non-finite loss), if it did */
  stopped?: string;
  /** time in the steps' forward (to the loss), backward (to the bounds) and optimizer; steps taken */
  ms: { forward: number; backward: number; optimizer: number };
  steps: number;
}

export interface ClipTrainingInput<T> {
  be: Backend<T>;
  decoder: Decoder<T>;
  layer: number;
  /** the block as the weight step will quantize it: full-precision weights after the transform */
  host: HostBlock;
  /** the same block on the backend with the transform's activation quantizers (its linear weights are not read) */
  block: BlockWeights<T>;
  /** the checkpoint's block, full precision, on the backend: the targets' block */
  fpBlock: BlockWeights<T>;
  /** the quantized stream's windows as they reach this block (left as they are) */
  inputs: T[];
  /** the full-precision stream's windows: advanced through fpBlock in place */
  fpInputs: T[];
  /** columns per group of each layer (K: one group per row) */
  groupsize: (K: number) => number;
  bits: number;
  training: ClipTraining;
  signal?: AbortSignal;
  /** after each epoch: its mean loss (the curve so far) */
  onEpoch?: (losses: number[]) => void;
}

/** Trains one block's clip bounds; the full-precision stream moves past the block. */
export async function trainClip<T>(x: ClipTrainingInput<T>): Promise<ClipTrainingResult> {
  const { be, decoder, layer, training: o } = x;
  const cfg = decoder.cfg;
  const why = untrainable(x.block);
  if (why) throw new Error(`learnable weight clipping cannot train through ${why}`);
  const maxq = 2 ** x.bits - 1;
  const roles = linearRoles(cfg);

  // targets, and the full-precision stream's next inputs (the same tensors)
  const copy = (t: T) => be.rows(t, 0, be.shape(t)[0]);
  for (const h of x.fpInputs) await decoder.block(layer, h, x.fpBlock);
  const aug: T[] = [];
  if (o.augLoss)
    for (const h of x.inputs) {
      const t = copy(h);
      await decoder.block(layer, t, x.fpBlock);
      aug.push(t);
    }

  const params = roles.map((role) => {
    const { W, shape } = x.host.linears[role]!;
    const g = x.groupsize(shape[1]);
    const n = (shape[0] * shape[1]) / g;
    return {
      role,
      g,
      W: be.fromHost(W, shape),
      bounds: be.fromHost(new Float32Array(n * 2).fill(LWC_INIT), [n, 2]),
      m: be.zeros([n, 2]),
      v: be.zeros([n, 2]),
      lastGood: null as T | null,
    };
  });
  const g = await decoder.weights.global();
  const grad = new BlockGrad(be, cfg, g.rope);
  const trained: BlockWeights<T> = { ...x.block, linears: {} };
  const losses: number[] = [];
  let stopped: string | undefined;
  let step = 0;
  // each phase ends in a sync (the loss read, then be.sync), so the split is the device's time, not dispatch time
  const ms = { forward: 0, backward: 0, optimizer: 0 };
  let t0 = 0;
  try {
    epochs: for (let epoch = 0; epoch < o.epochs; epoch++) {
      let sum = 0;
      for (let j = 0; j < x.inputs.length; j++) {
        if (x.signal?.aborted) throw new CancelledError('quantization cancelled');
        t0 = performance.now();
        for (const p of params)
          trained.linears[p.role] = { W: be.train.lwcQuant(p.W, p.bounds, p.g, maxq), b: x.block.linears[p.role]!.b };
        const { out, tape } = grad.forward(trained, x.inputs[j]);
        const fit = be.train.mseGrad(out, x.fpInputs[j]);
        if (o.augLoss) {
          const extra = be.train.mseGrad(out, aug[j]);
          be.add(extra.loss, fit.loss);
          be.add(extra.grad, fit.grad);
          be.release(extra.loss);
          be.release(extra.grad);
        }
        be.release(out);
        const loss = (await be.toHost(fit.loss))[0];
        be.release(fit.loss);
        ms.forward += performance.now() - t0;
        if (!Number.isFinite(loss)) {
          grad.releaseTape(tape);
          be.release(fit.grad);
          for (const p of params) be.release(trained.linears[p.role]!.W);
          stopped =
            `epoch ${epoch + 1}, window ${j + 1}: the loss is ${loss}; ` +
            'the bounds that last gave a finite loss are kept';
          for (const p of params)
            if (p.lastGood) {
              be.release(p.bounds);
              p.bounds = p.lastGood;
              p.lastGood = null;
            }
          if (epoch > 0 || j > 0) losses.push(sum / Math.max(1, j));
          break epochs;
        }
        sum += loss;
        t0 = performance.now();
        const dW = grad.backward(trained, tape, fit.grad);
        const dB = params.map((p) => be.train.lwcGrad(p.W, p.bounds, dW[p.role], p.g, maxq));
        await be.sync();
        ms.backward += performance.now() - t0;
        t0 = performance.now();
        step++;
        params.forEach((p, i) => {
          be.release(dW[p.role]);
          be.release(trained.linears[p.role]!.W);
          be.release(p.lastGood);
          p.lastGood = copy(p.bounds);
          be.train.adamW(p.bounds, dB[i], p.m, p.v, step, o.lr, BETA1, BETA2, EPS, o.wd);
          be.release(dB[i]);
        });
        await be.sync();
        ms.optimizer += performance.now() - t0;
      }
      losses.push(sum / x.inputs.length);
      x.onEpoch?.([...losses]);
    }
    const bounds: ClipTrainingResult['bounds'] = {};
    const host = await be.readMany(params.map((p) => p.bounds));
    params.forEach((p, i) => (bounds[p.role] = host[i]));
    return { bounds, losses, ...(stopped ? { stopped } : {}), ms, steps: step };
  } finally {
    for (const p of params) for (const t of [p.W, p.bounds, p.m, p.v, p.lastGood]) be.release(t);
    for (const t of aug) be.release(t);
  }
}

/** σ of each bound: the fraction of the raw max (up) and min (low) a group's grid spans. */
export function clipFractions(bounds: Float32Array): { up: Float32Array; low: Float32Array } {
  const n = bounds.length / 2;
  const s = (v: number) => 1 / (1 + Math.exp(-v));
  return {
    up: Float32Array.from({ length: n }, (_, i) => s(bounds[2 * i])),
    low: Float32Array.from({ length: n }, (_, i) => s(bounds[2 * i + 1])),
  };
}
