// A model = config + checkpoint + tokenizer from one source, validated before any tensor is read.
import { MissingFileError } from '../errors.ts';
import { parseConfig, parameterCount, type ModelConfig } from './config.ts';
import { ARCHITECTURES } from './architecture.ts';
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
  const checkpoint = await Checkpoint.open((f) => source.open(f));
  await gptqSettings(source, config, checkpoint);
  return { source, config, checkpoint, tokenizer, parameters: parameterCount(config) };
}

/**
 * Packed GPTQ layers without a quantization_config in config.json: older AutoGPTQ repositories keep the settings in
 * quantize_config.json. Looked for only when the checkpoint has packed layers (a plain model never asks for it).
 */
export async function gptqSettings(source: ModelSource, config: ModelConfig, ckpt: Checkpoint): Promise<void> {
  const a = ARCHITECTURES[config.family];
  const packed = ckpt.has(`${a.layerPrefix(0)}.${a.linears.q}.qweight`);
  if (!packed || config.gptq) return;
  const q = await readJson(source, 'quantize_config.json', false);
  if (!q) throw new MissingFileError(`${source.id}: the checkpoint holds GPTQ-packed layers (qweight) but neither config.json's quantization_config nor quantize_config.json says how they are packed`);
  config.gptq = parseGptqConfig(q, 'quantize_config.json');
}
