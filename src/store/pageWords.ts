// Errors as the page says them: what went wrong in words, never an error class ("OptionsError:") or a command-line
// flag ("--groupsize"): a flag becomes the form's name for the field, as the form's own checks say it.
import { inFormWords } from '../quant/recipe.ts';

/** A short lead for the kinds of failure a user can act on (the message says the rest). */
const LEADS: Record<string, string> = {
  GpuUnavailableError: 'No WebGPU',
  GpuLimitError: 'Too large for this GPU',
  DeviceLostError: 'The GPU was lost',
  GpuOperationError: 'A GPU operation failed',
  SafetensorsError: 'A weights file is malformed',
  MissingTensorError: 'A tensor is missing',
  UnsupportedModelError: 'Unsupported model',
  MissingFileError: 'A model file could not be read',
  NetworkError: 'Network',
  DatasetError: 'An evaluation or calibration text could not be used',
  OptionsError: 'These settings cannot run',
  CancelledError: 'Cancelled',
  NonFiniteError: 'The model produced NaN or Inf',
  CacheFullError: 'Storage is full',
};

/** The lead for an error kind (null: the message stands alone). */
export function errorLead(kind: string): string | null {
  return LEADS[kind] ?? null;
}

/** An error's message in the page's words: flags named as the form names them, no class name. */
export function pageMessage(message: string): string {
  // a message that quotes another error keeps its words but loses the class ("LabError: …" inside a message)
  return inFormWords(message.replace(/\b[A-Z]\w*Error: /g, ''));
}

/** One line: "Lead: message" (or the message alone). */
export function pageError(e: { kind: string; message: string }): string {
  const lead = errorLead(e.kind);
  const msg = pageMessage(e.message);
  return lead ? `${lead}: ${msg.replace(/^[A-Z](?=[a-z ])/, (c) => c.toLowerCase())}` : msg;
}
