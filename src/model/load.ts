// A model = config + checkpoint + tokenizer from one source, validated before any tensor is read.
import { MissingFileError } from '../errors.ts';
import { parseConfig, parameterCount, type ModelConfig } from './config.ts';
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
  return { source, config, checkpoint, tokenizer, parameters: parameterCount(config) };
}
