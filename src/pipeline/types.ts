// What crosses the worker boundary and what the CLI writes: plain, serializable summaries only.
export type Stage = 'load' | 'evaluate';

export interface Progress {
  stage: Stage;
  /** human-readable step, e.g. "tinystories window 3/81" */
  label: string;
  /** 0..1 within the stage */
  fraction: number;
  loadedBytes?: number;
  totalBytes?: number;
}

export interface EvalRequest {
  datasets: string[];
  seqlen?: number;
  /** first k windows only */
  windows?: number;
  checkFinite?: boolean;
  /** bytes of f32 weights to keep resident on the GPU (default 2 GiB); beyond it blocks stream per window */
  maxResidentBytes?: number;
  /** 'webgpu' (default) or the CPU reference forward */
  backend?: 'webgpu' | 'reference';
}

export interface DeviceSummary {
  description: string;
  software: boolean;
  shaderF16: boolean;
}

export interface EvalResult {
  model: string;
  modelType: string;
  parameters: number;
  config: { wbits: number; abits: number; seqlen: number; windows?: number; backend: string };
  ppl: Record<string, number>;
  windows: Record<string, number>;
  timings: { loadMs: number; evalMs: Record<string, number>; tokensPerSecond: number };
  device: DeviceSummary | null;
  peakGpuBytes: number;
}
