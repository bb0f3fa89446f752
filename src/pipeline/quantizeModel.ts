// Sequential block processing (GPTQ protocol): block i is calibrated on the outputs of the already-quantized blocks
// 0..i−1. Its inputs are captured once through the forward pass's hook points; memory holds one block plus its
// calibration activations. With true-sequential, each group of layers (q/k/v → out → fc1/gate+up → fc2/down) is
// quantized on inputs recomputed after the previous group.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import type { GpuTensor } from '../gpu/tensor.ts';
import { linearName, linearRoles, type LinearRole } from '../model/architecture.ts';
import type { Family } from '../model/config.ts';
import type { Decoder } from '../model/forward.ts';
import { ARCHITECTURES } from '../model/architecture.ts';
import type { WeightStore } from '../model/weights.ts';
import type { Checkpoint } from '../model/safetensors.ts';
import { CancelledError } from '../errors.ts';
import { gptq, HessianAccumulator } from '../quant/gptq.ts';
import { rtn } from '../quant/rtn.ts';
import type { QuantRecipe } from '../quant/recipe.ts';
import type { LayerReport, QuantSummary } from './types.ts';

/** true-sequential order inside a block */
function sequentialGroups(family: Family): LinearRole[][] {
  return family === 'llama' ? [['q', 'k', 'v'], ['o'], ['gate', 'up'], ['down']] : [['q', 'k', 'v'], ['o'], ['up'], ['down']];
}

export interface QuantizeContext {
  gpu: Gpu;
  decoder: Decoder<GpuTensor>;
  weights: WeightStore<GpuTensor>;
  checkpoint: Checkpoint;
  onBlock?: (done: number, total: number, layers: LayerReport[]) => void;
  signal?: AbortSignal;
}

export async function quantizeModel(r: QuantRecipe, calib: Uint32Array[], ctx: QuantizeContext): Promise<QuantSummary> {
  const { gpu, decoder, weights } = ctx;
  const cfg = decoder.cfg;
  const be = decoder.be;
  const arch = ARCHITECTURES[cfg.family];
  const roles = linearRoles(cfg.family);
  const groups = r.method === 'gptq' && r.trueSequential ? sequentialGroups(cfg.family) : [roles];
  const summary: QuantSummary = { method: r.method, layers: [], hessianMs: 0, factorMs: 0, loopMs: 0, totalMs: 0, calibrationTokens: 0 };
  const t0 = performance.now();
  const checkCancel = () => {
    if (ctx.signal?.aborted) throw new CancelledError('quantization cancelled');
  };

  const inps: GpuTensor[] = [];
  for (const w of calib) inps.push(await decoder.embed(w));
  summary.calibrationTokens = calib.length * (calib[0]?.length ?? 0);

  for (let layer = 0; layer < cfg.layers; layer++) {
    const block = await weights.block(layer);
    const fp = new Map<LinearRole, Float32Array>();
    for (const role of roles) fp.set(role, await ctx.checkpoint.readF32(`${arch.layerPrefix(layer)}.${arch.linears[role]}.weight`));
    const started = new Map<LinearRole, number>();

    for (const group of groups) {
      checkCancel();
      if (r.method === 'rtn') {
        for (const role of group) {
          const t = performance.now();
          const lin = block.linears[role]!;
          const Q = rtn(gpu, lin.W, r.wbits, r.groupsize, r.sym);
          be.release(lin.W);
          lin.W = Q;
          started.set(role, performance.now() - t);
        }
        continue;
      }
      // GPTQ: one calibration pass collects the Hessian of every layer in the group
      const tH = performance.now();
      const accs = new Map<string, { role: LinearRole; acc: HessianAccumulator }>();
      for (const role of group) accs.set(`${linearName(cfg.family, role)}.in`, { role, acc: new HessianAccumulator(gpu, block.linears[role]!.W.shape[1]) });
      for (const x of inps) {
        const h = be.rows(x, 0, x.shape[0]);
        await decoder.block(layer, h, block, (_, point, t) => accs.get(point)?.acc.add(t));
        be.release(h);
      }
      await gpu.sync();
      summary.hessianMs += performance.now() - tH;
      for (const { role, acc } of accs.values()) {
        const t = performance.now();
        const lin = block.linears[role]!;
        const [R, K] = lin.W.shape;
        const H = await acc.read();
        acc.dispose();
        const { Q, timings } = await gptq(gpu, fp.get(role)!, H, R, K, r);
        summary.factorMs += timings.factorMs;
        summary.loopMs += timings.loopMs;
        be.release(lin.W);
        lin.W = gpu.upload(Q, [R, K], `${linearName(cfg.family, role)}.Q`);
        started.set(role, performance.now() - t);
      }
    }

    // outputs of the quantized block feed block layer + 1; the same pass measures each layer's output error
    const err = new Map<string, { role: LinearRole; num: number; den: number; fpW: GpuTensor; sums: GpuTensor[] }>();
    for (const role of roles) {
      const [R, K] = block.linears[role]!.W.shape;
      err.set(`${linearName(cfg.family, role)}.in`, { role, num: 0, den: 0, fpW: gpu.upload(fp.get(role)!, [R, K]), sums: [] });
    }
    for (const x of inps) {
      // recorded, not read: the sums come back in one go after the pass, with no sync inside the forward
      await decoder.block(layer, x, block, (_, point, X) => {
        const e = err.get(point);
        if (!e) return;
        const yq = ops.matmul(gpu, X, block.linears[e.role]!.W, null);
        const yf = ops.matmul(gpu, X, e.fpW, null);
        e.sums.push(ops.outputError(gpu, yq, yf));
        gpu.release(yq);
        gpu.release(yf);
      });
    }
    for (const e of err.values()) {
      for (const sums of e.sums) {
        const rows = await gpu.read(sums);
        for (let t = 0; t < rows.length; t += 2) {
          e.num += rows[t];
          e.den += rows[t + 1];
        }
        gpu.release(sums);
      }
      gpu.release(e.fpW);
      const K = block.linears[e.role]!.W.shape[1];
      summary.layers.push({
        layer,
        linear: linearName(cfg.family, e.role),
        relError: Math.sqrt(e.num / e.den),
        ms: started.get(e.role) ?? 0,
        bits: bitsPerWeight(r, K),
      });
    }
    weights.replace(layer, block);
    ctx.onBlock?.(layer + 1, cfg.layers, summary.layers);
  }
  for (const x of inps) be.release(x);
  summary.totalMs = performance.now() - t0;
  return summary;
}

/** wbits plus one fp16 scale and one fp16 zero per group (per row: per K weights) */
export function bitsPerWeight(r: QuantRecipe, K: number): number {
  return r.wbits + 32 / (r.groupsize > 0 ? r.groupsize : K);
}
