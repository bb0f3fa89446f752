// Reading a GPTQ-format checkpoint (AutoGPTQ / GPTQModel / the many public *-GPTQ repositories): its quantization
// settings from config.json's quantization_config (or quantize_config.json in older repositories), checked before
// any tensor is read, and each linear layer's packed tensors checked against the shapes the settings imply. What the
// lab does not read (gptq_v2's zero points, marlin's tiles, other pack dtypes, 5–7 bits) is refused by name.
import { MissingTensorError, SafetensorsError, UnsupportedModelError } from '../errors.ts';
import { checkGroupIndex, GPTQ_BITS, packable, packedWords } from './gptqPacking.ts';
import type { Checkpoint } from './safetensors.ts';

export interface GptqFormat {
  bits: (typeof GPTQ_BITS)[number];
  /** −1: one group per output row */
  groupSize: number;
  descAct: boolean;
  sym: boolean;
}

type Json = Record<string, unknown>;

/** The settings of a GPTQ checkpoint, or a specific error naming the field that the lab cannot read. */
export function parseGptqConfig(q: Json, where: string): GptqFormat {
  const method = String(q.quant_method ?? 'gptq').toLowerCase();
  if (method !== 'gptq')
    throw new UnsupportedModelError(
      `${where}: quant_method "${method}" is not supported; the lab reads GPTQ checkpoints (quant_method "gptq")`,
    );
  const format = String(q.checkpoint_format ?? 'gptq');
  if (format !== 'gptq') {
    const why: Record<string, string> = {
      gptq_v2: 'GPTQModel\'s v2 stores zero points without v1\'s −1; convert it to v1 (checkpoint_format "gptq")',
      marlin: "marlin repacks the codes in the Marlin kernel's tiles",
    };
    throw new UnsupportedModelError(
      `${where}: checkpoint_format "${format}" is not supported${why[format] ? ` (${why[format]})` : ''}; ` +
        'the lab reads checkpoint_format "gptq" (v1)',
    );
  }
  const pack = q.pack_dtype ?? 'int32';
  if (pack !== 'int32' && pack !== 'torch.int32')
    throw new UnsupportedModelError(
      `${where}: pack_dtype "${String(pack)}" is not supported; the lab reads codes packed in int32`,
    );
  const bits = q.bits;
  if (typeof bits !== 'number' || !(GPTQ_BITS as readonly number[]).includes(bits)) {
    throw new UnsupportedModelError(
      `${where}: bits ${JSON.stringify(bits)} is not supported; GPTQ checkpoints pack ${GPTQ_BITS.join(', ')} bits`,
    );
  }
  const groupSize = q.group_size ?? -1;
  if (typeof groupSize !== 'number' || !Number.isInteger(groupSize) || (groupSize < 1 && groupSize !== -1)) {
    throw new UnsupportedModelError(
      `${where}: group_size ${JSON.stringify(q.group_size)} must be a positive integer or −1`,
    );
  }
  return { bits: bits as GptqFormat['bits'], groupSize, descAct: q.desc_act === true, sym: q.sym !== false };
}

/** The shapes of one layer's packed tensors ([N, K] = [out, in]). */
export function gptqShapes(
  f: { bits: number; groupSize: number },
  N: number,
  K: number,
): { qweight: number[]; qzeros: number[]; scales: number[]; gIdx: number[]; groups: number } {
  const groups = f.groupSize > 0 ? Math.ceil(K / f.groupSize) : 1;
  return {
    qweight: [packedWords(K, f.bits), N],
    qzeros: [groups, packedWords(N, f.bits)],
    scales: [groups, N],
    gIdx: [K],
    groups,
  };
}

/** Why a layer of this width cannot be stored at these bits (the loaders need whole words), or null. */
export function unpackableWidth(N: number, K: number, bits: number, layer: string): string | null {
  if (!packable(K, bits))
    return (
      `${layer} has ${K} inputs: ${bits}-bit codes pack along the inputs in whole 32-bit words, ` +
      `so the input width must be a multiple of ${32 / gcd(32, bits)}`
    );
  if (!packable(N, bits))
    return (
      `${layer} has ${N} outputs: ${bits}-bit zero points pack along the outputs in whole 32-bit words, ` +
      `so the output width must be a multiple of ${32 / gcd(32, bits)}`
    );
  return null;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** One packed layer as read from the checkpoint: scales stay f16 bits (they go to the GPU as stored). */
export interface GptqLayer {
  qweight: Uint32Array;
  qzeros: Uint32Array;
  scales: Uint16Array;
  gIdx: Uint32Array;
  bits: number;
  N: number;
  K: number;
  groups: number;
}

/**
 * Checks a packed layer's four tensors against the shapes its [N, K] and the settings imply, before any is read:
 * a wrong shape names the tensor, what it holds and what the settings imply.
 */
export function validateGptqLayer(ckpt: Checkpoint, f: GptqFormat, name: string, [N, K]: [number, number]): void {
  const s = gptqShapes(f, N, K);
  const why = unpackableWidth(N, K, f.bits, name);
  if (why) throw new UnsupportedModelError(why);
  const want: [string, number[], string, string][] = [
    ['qweight', s.qweight, 'I32', `${K} inputs × ${f.bits} bits / 32 per word, × ${N} outputs`],
    ['qzeros', s.qzeros, 'I32', `${s.groups} groups × ${N} outputs × ${f.bits} bits / 32`],
    ['scales', s.scales, 'F16', `${s.groups} groups × ${N} outputs`],
    ['g_idx', s.gIdx, 'I32', `one group index per input`],
  ];
  for (const [t, shape, dtype, what] of want) {
    const info = ckpt.info(`${name}.${t}`);
    if (!info) {
      throw new MissingTensorError(
        t === 'g_idx'
          ? `GPTQ layer "${name}" has no g_idx: the lab reads each input's group from it ` +
              '(act-order checkpoints need it; export the checkpoint with g_idx)'
          : `GPTQ layer "${name}" has no ${t}; a GPTQ checkpoint stores qweight, qzeros, scales and g_idx per layer`,
      );
    }
    if (info.shape.join() !== shape.join())
      throw new SafetensorsError(
        `GPTQ tensor "${name}.${t}" has shape [${info.shape}]; bits ${f.bits}, ` +
          `group_size ${f.groupSize} imply [${shape}] (${what})`,
      );
    if (info.dtype !== dtype)
      throw new SafetensorsError(`GPTQ tensor "${name}.${t}" is ${info.dtype}; the format stores it as ${dtype}`);
  }
}

export async function readGptqLayer(ckpt: Checkpoint, f: GptqFormat, name: string): Promise<GptqLayer> {
  const shape = ckpt.info(`${name}.scales`)?.shape;
  const gi = ckpt.info(`${name}.g_idx`)?.shape;
  if (!shape || !gi) throw new MissingTensorError(`GPTQ layer "${name}" has no scales or g_idx`);
  const [groups, N] = shape;
  const K = gi[0];
  const gIdx = await ckpt.readU32(`${name}.g_idx`);
  checkGroupIndex(gIdx, K, groups, name);
  const raw = await ckpt.readRaw(`${name}.scales`);
  return {
    qweight: await ckpt.readU32(`${name}.qweight`),
    qzeros: await ckpt.readU32(`${name}.qzeros`),
    scales: new Uint16Array(raw.bytes),
    gIdx,
    bits: f.bits,
    N,
    K,
    groups,
  };
}
