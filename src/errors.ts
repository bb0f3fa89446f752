// Every failure the lab can explain gets its own class, so the page and the CLI can show a specific message
// (and tests can assert on the kind) instead of a stack trace.

export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** No WebGPU adapter/device could be had; the message says why and what to install. */
export class GpuUnavailableError extends LabError {}
/** The adapter's limits cannot hold what the model needs. */
export class GpuLimitError extends LabError {}
/** The device was lost mid-run (driver reset, tab backgrounded, OOM). Recoverable by re-creating the engine. */
export class DeviceLostError extends LabError {}
/** A WGSL validation / out-of-memory / internal error caught by an error scope. */
export class GpuOperationError extends LabError {}
/** A safetensors file (or its index) is malformed. */
export class SafetensorsError extends LabError {}
/** A tensor that the architecture needs is not in the checkpoint. */
export class MissingTensorError extends LabError {}
/** config.json names an architecture the lab does not implement. */
export class UnsupportedModelError extends LabError {}
/** A file the model needs (config, tokenizer, weights) is not at the source. */
export class MissingFileError extends LabError {}
/** An evaluation or calibration dataset name or file that does not exist. */
export class DatasetError extends LabError {}
/** Bad command-line flags or experiment options. */
export class OptionsError extends LabError {}
/** A run was cancelled by the user. */
export class CancelledError extends LabError {}
/** A forward pass produced NaN/Inf; names the first layer where it appeared. */
export class NonFiniteError extends LabError {}
