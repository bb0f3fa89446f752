// The GPU ops by name, for code that dispatches one kernel directly (tests, benchmarks): the kernel table's GPU side
// lives in kernels.ts, one op per kernel, each taking its twin's arguments (reference.ts) with gpu first.
export * from './kernels.ts';
