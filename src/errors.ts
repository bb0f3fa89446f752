// Every failure the lab can explain gets its own class, so the page and the CLI can show a specific message
// (and tests can assert on the kind) instead of a stack trace.

export class LabError extends Error {
  // spelled out, not new.target.name: minified bundles rename classes, and the page shows this name
  override name = 'LabError';
}

/** No WebGPU adapter/device could be had; the message says why and what to install. */
export class GpuUnavailableError extends LabError {
  override name = 'GpuUnavailableError';
}
/** The adapter's limits cannot hold what the model needs. */
export class GpuLimitError extends LabError {
  override name = 'GpuLimitError';
}
/** The device was lost mid-run (driver reset, tab backgrounded, OOM). Recoverable by re-creating the engine. */
export class DeviceLostError extends LabError {
  override name = 'DeviceLostError';
}
/** A WGSL validation / out-of-memory / internal error caught by an error scope. */
export class GpuOperationError extends LabError {
  override name = 'GpuOperationError';
}
/** A safetensors file (or its index) is malformed. */
export class SafetensorsError extends LabError {
  override name = 'SafetensorsError';
}
/** A tensor that the architecture needs is not in the checkpoint. */
export class MissingTensorError extends LabError {
  override name = 'MissingTensorError';
}
/** config.json names an architecture the lab does not implement. */
export class UnsupportedModelError extends LabError {
  override name = 'UnsupportedModelError';
}
/** A file the model needs (config, tokenizer, weights) is not at the source. */
export class MissingFileError extends LabError {
  override name = 'MissingFileError';
}
/** A server (the Hub, a model or data URL) could not be reached at all; the message names the URL. */
export class NetworkError extends LabError {
  override name = 'NetworkError';
}
/** An evaluation or calibration dataset name or file that does not exist. */
export class DatasetError extends LabError {
  override name = 'DatasetError';
}
/** Bad command-line flags or experiment options. */
export class OptionsError extends LabError {
  override name = 'OptionsError';
}
/** A run was cancelled by the user. */
export class CancelledError extends LabError {
  override name = 'CancelledError';
}
/** A forward pass produced NaN/Inf; names the first layer where it appeared. */
export class NonFiniteError extends LabError {
  override name = 'NonFiniteError';
}
