// What a model takes stored, so bits per weight can be read as bytes: the checkpoint as its files hold it, and the
// same checkpoint with every quantized layer at its bits per weight (codes plus scales and zeros, or CLAQ's codebooks
// and reserved values). Embeddings, norms and lm_head stay as stored in both, which is why a W4 model of a tiny
// vocabulary-heavy checkpoint shrinks less than 4/16.
import { checkpointModules, familyOf, linearName, linearShapes } from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Checkpoint } from '../model/safetensors.ts';
import type { LayerReport, StorageSize } from './types.ts';

/** Stored bytes of one decoder module: its weight (or a GPTQ checkpoint's qweight, qzeros, scales, g_idx), no bias. */
function moduleBytes(ckpt: Checkpoint, prefix: string): number {
  let bytes = 0;
  for (const n of ckpt.names()) {
    if (!n.startsWith(prefix) || n.endsWith('.bias')) continue;
    const t = ckpt.info(n)!;
    bytes += t.end - t.begin;
  }
  return bytes;
}

export function storageSize(cfg: ModelConfig, ckpt: Checkpoint, layers?: readonly LayerReport[]): StorageSize {
  const names = familyOf(cfg).names;
  const shapes = linearShapes(cfg);
  /** stored bytes of block i's linear by its HF name (a fused module's bytes shared by its layers' sizes) */
  const stored = new Map<string, number>();
  let bytes = 0;
  let weights = 0;
  for (let i = 0; i < cfg.layers; i++) {
    for (const { module, roles } of checkpointModules(cfg)) {
      const b = moduleBytes(ckpt, `${names.layerPrefix(i)}.${module}.`);
      const size = (r: (typeof roles)[number]) => shapes[r]![0] * shapes[r]![1];
      const total = roles.reduce((s, r) => s + size(r), 0);
      for (const r of roles) stored.set(`${i}|${linearName(cfg, r)}`, (b * size(r)) / total);
      bytes += b;
      weights += total;
    }
  }
  const out: StorageSize = { checkpointBytes: ckpt.bytes, checkpointBits: weights ? (8 * bytes) / weights : 16 };
  if (layers?.length) {
    let q = ckpt.bytes;
    for (const l of layers) {
      q -= stored.get(`${l.layer}|${l.linear}`) ?? 0;
      q += ((l.weights ?? 0) * l.bits) / 8;
    }
    out.quantizedBytes = Math.round(q);
  }
  return out;
}
