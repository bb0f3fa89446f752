// GPTQ's factorization U = cholesky(cholesky_inverse(cholesky(H)), upper), by either route:
//   cpu  f64 on the host (linalg.ts), the lab's original route, exact to f32 rounding of the result;
//   gpu  f32 on the backend (cholesky.wgsl), as the reference runs torch.linalg.cholesky on CUDA: U never leaves it.
// `auto` measures both on the run's first layer and keeps the faster for the rest of the run (a software adapter
// usually loses to the host at small widths; a real GPU wins by far at 4096+), and says so in the report.
import type { Backend } from '../gpu/backend.ts';
import { LabError } from '../errors.ts';
import { upperCholeskyOfInverse } from './linalg.ts';

export type FactorRoute = 'gpu' | 'cpu';
export const FACTOR_ROUTES = ['auto', 'gpu', 'cpu'] as const;
export type FactorChoice = (typeof FACTOR_ROUTES)[number];

/** columns per block of the blocked Cholesky (one workgroup of 64 factors a diagonal block) */
const BLOCK = 64;

/** Damping in place: H[d, d] += percdamp · mean(diag H). */
export function damp(H: Float64Array, K: number, percdamp: number): void {
  let meanDiag = 0;
  for (let d = 0; d < K; d++) meanDiag += H[d * K + d] / K;
  for (let d = 0; d < K; d++) H[d * K + d] += percdamp * meanDiag;
}

/** U on the backend from the damped H, by the blocked kernels: P·chol(P H P)⁻¹·P in f32. */
export async function factorOnBackend<T>(be: Backend<T>, H: Float64Array, n: number): Promise<T> {
  const rev = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rev[i * n + j] = H[(n - 1 - i) * n + (n - 1 - j)];
  const A = be.fromHost(rev, [n, n]);
  const X = be.zeros([n, n]);
  const flag = be.ids(Uint32Array.of(0xffffffff));
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const b = Math.min(BLOCK, n - k0);
    be.factorStep('potrf', A, X, flag, n, k0, b);
    if (k0 + b < n) {
      be.factorStep('trsm', A, X, flag, n, k0, b);
      be.factorStep('syrk', A, X, flag, n, k0, b);
    }
  }
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const b = Math.min(BLOCK, n - k0);
    if (k0 > 0) be.factorStep('trinvGemm', A, X, flag, n, k0, b);
    be.factorStep('trinvSolve', A, X, flag, n, k0, b);
  }
  be.factorStep('reverse', A, X, flag, n, 0, n);
  const bad = (await be.readIds(flag))[0];
  be.release(X);
  be.release(flag);
  if (bad !== 0xffffffff) {
    be.release(A);
    throw new LabError(`the Hessian is not positive definite at column ${n - 1 - bad} (f32 factorization on the GPU); raise --percdamp or use --factorization cpu`);
  }
  return A;
}

/** What `auto` decided for a backend, measured once. */
const decided = new WeakMap<object, { route: FactorRoute; note: string }>();

export interface Factored<T> {
  U: T;
  route: FactorRoute;
  /** how auto chose (both routes' times on the layer it measured), once per run */
  note?: string;
}

/** Damps H (in place) and factors it by the route asked, or the measured faster one (auto). */
export async function dampedFactor<T>(be: Backend<T>, H: Float64Array, K: number, percdamp: number, choice: FactorChoice = 'auto'): Promise<Factored<T>> {
  damp(H, K, percdamp);
  const cpu = () => be.fromHost(Float32Array.from(upperCholeskyOfInverse(H, K)), [K, K]);
  // the reference backend's kernels are its twins: the host's f64 route is both faster and exact
  const route: FactorChoice = choice === 'auto' && be.name === 'reference' ? 'cpu' : choice;
  if (route === 'cpu') return { U: cpu(), route: 'cpu' };
  if (route === 'gpu') return { U: await factorOnBackend(be, H, K), route: 'gpu' };
  const known = decided.get(be);
  if (known) return { U: known.route === 'gpu' ? await factorOnBackend(be, H, K) : cpu(), route: known.route };
  // measure both on this layer (the GPU route twice: its first run compiles the pipelines)
  const n0 = Math.min(K, 2 * BLOCK);
  be.release(await factorOnBackend(be, Float64Array.from({ length: n0 * n0 }, (_, i) => (i % (n0 + 1) === 0 ? 1 : 0)), n0));
  let t = performance.now();
  const onGpu = await factorOnBackend(be, H, K);
  await be.sync();
  const gpuMs = performance.now() - t;
  t = performance.now();
  const onCpu = cpu();
  const cpuMs = performance.now() - t;
  const pick: FactorRoute = gpuMs < cpuMs ? 'gpu' : 'cpu';
  const note = `factorization on the ${pick === 'gpu' ? 'GPU (f32)' : 'CPU (f64)'}: measured ${(gpuMs / 1000).toFixed(3)} s on the GPU against ${(cpuMs / 1000).toFixed(3)} s on the CPU at width ${K}`;
  decided.set(be, { route: pick, note });
  be.release(pick === 'gpu' ? onCpu : onGpu);
  return { U: pick === 'gpu' ? onGpu : onCpu, route: pick, note };
}
