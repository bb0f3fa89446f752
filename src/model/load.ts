// A model = config + checkpoint + tokenizer from one source, validated before any tensor is read.
import { MissingFileError } from '../errors.ts';
import { parseConfig, parameterCount, type ModelConfig } from './config.ts';
import { linearTensor } from './families.ts';
import { parseGptqConfig } from './gptqCheckpoint.ts';
import { Checkpoint } from './safetensors.ts';
import { readJson, type ModelSource } from './source.ts';
import { loadTokenizer, type TextTokenizer } from './tokenizer.ts';

export interface LoadedModel {
  source: ModelSource;
  config: ModelConfig;
  checkpoint: Checkpoint;
  tokenizer: TextTokenizer;
  parameters: number;
}

export async function loadModel(source: ModelSource): Promise<LoadedModel> {
  const raw = await readJson(source, 'config.json', false);
  if (!raw) throw new MissingFileError(`${source.id}: config.json not found — is this a Hugging Face model folder?`);
  const config = parseConfig(raw);
  const tokenizer = await loadTokenizer(source);
  const checkpoint = await openCheckpoint(source, config);
  await gptqSettings(source, config, checkpoint);
  return { source, config, checkpoint, tokenizer, parameters: parameterCount(config) };
}

/**
 * Packed GPTQ layers without a quantization_config in config.json: older AutoGPTQ repositories keep the settings in
 * quantize_config.json. Looked for only when the checkpoint has packed layers (a plain model never asks for it).
 */
export async function gptqSettings(source: ModelSource, config: ModelConfig, ckpt: Checkpoint): Promise<void> {
  const packed = ckpt.has(`${linearTensor(config, 0, 'q').module}.qweight`);
  if (!packed || config.gptq) return;
  const q = await readJson(source, 'quantize_config.json', false);
  if (!q)
    throw new MissingFileError(
      `${source.id}: the checkpoint holds GPTQ-packed layers (qweight) ` +
        "but neither config.json's quantization_config nor quantize_config.json says how they are packed",
    );
  config.gptq = parseGptqConfig(q, 'quantize_config.json');
}

/**
 * The checkpoint's tensors: model.safetensors or its sharded index, or (older AutoGPTQ repositories) the one file named
 * by the GPTQ settings' model_file_base_name, e.g. gptq_model-4bit-128g.safetensors.
 */
export async function openCheckpoint(source: ModelSource, config: ModelConfig): Promise<Checkpoint> {
  try {
    return await Checkpoint.open((f) => source.open(f));
  } catch (e) {
    const base = await gptqFileBase(source, config);
    const named = base ? await source.open(`${base}.safetensors`) : null;
    if (!named) throw e;
    return Checkpoint.open(async (f) => (f === 'model.safetensors' ? named : null));
  }
}

/** model_file_base_name of config.json's quantization_config or of quantize_config.json, when there is one. */
async function gptqFileBase(source: ModelSource, config: ModelConfig): Promise<string | undefined> {
  const q =
    (await readJson(source, 'config.json', false))?.quantization_config ??
    (config.gptq ? undefined : await readJson(source, 'quantize_config.json', false));
  const name = (q as Record<string, unknown> | null | undefined)?.model_file_base_name;
  return typeof name === 'string' && name !== 'model' ? name : undefined;
}
