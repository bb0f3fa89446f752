// GPTQ's factorization U = cholesky(cholesky_inverse(cholesky(H)), upper), by either route:
//   cpu  f64 on the host (linalg.ts), the lab's original route, exact to f32 rounding of the result;
//   gpu  f32 on the backend (cholesky.wgsl), as the reference runs torch.linalg.cholesky on CUDA: U never leaves it.
// `auto` measures both routes once per adapter (per process) on a width-512 Hessian and keeps the faster: on
// SwiftShader the host wins by 10×, on a real GPU the kernels do; margins that wide make the choice stable, so the
// same adapter always gives the same figures. The run's report says which route ran and the measurement.
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
    be.gptq.factorStep('potrf', A, X, flag, n, k0, b);
    if (k0 + b < n) {
      be.gptq.factorStep('trsm', A, X, flag, n, k0, b);
      be.gptq.factorStep('syrk', A, X, flag, n, k0, b);
    }
  }
  for (let k0 = 0; k0 < n; k0 += BLOCK) {
    const b = Math.min(BLOCK, n - k0);
    if (k0 > 0) be.gptq.factorStep('trinvGemm', A, X, flag, n, k0, b);
    be.gptq.factorStep('trinvSolve', A, X, flag, n, k0, b);
  }
  be.gptq.factorStep('reverse', A, X, flag, n, 0, n);
  const bad = (await be.readIds(flag))[0];
  be.release(X);
  be.release(flag);
  if (bad !== 0xffffffff) {
    be.release(A);
    throw new LabError(
      `the Hessian is not positive definite at column ${n - 1 - bad} (f32 factorization on the GPU); ` +
        'raise --percdamp or use --factorization cpu',
    );
  }
  return A;
}

/** What `auto` decided for each adapter, measured once per process. */
const decided = new Map<string, { route: FactorRoute; note: string }>();

/** A damped, well-conditioned Hessian-like matrix of width n for the measurement. */
function probeMatrix(n: number): Float64Array {
  return Float64Array.from(
    { length: n * n },
    (_, k) => (k % (n + 1) === 0 ? n : 0) + Math.cos(Math.floor(k / n) * (k % n)),
  );
}

/** The route `auto` takes on this backend: the faster of the two on a width-512 factorization, measured once. */
export async function autoRoute<T>(be: Backend<T>): Promise<{ route: FactorRoute; note: string; fresh: boolean }> {
  // the reference backend's kernels are its twins: the host's f64 route is both faster and exact
  if (be.name === 'reference')
    return { route: 'cpu', note: 'factorization on the CPU (f64): the reference backend', fresh: false };
  const known = decided.get(be.adapter);
  if (known) return { ...known, fresh: false };
  const n = 512;
  const H = probeMatrix(n);
  be.release(await factorOnBackend(be, probeMatrix(2 * BLOCK), 2 * BLOCK)); // compiles the pipelines
  let t = performance.now();
  be.release(await factorOnBackend(be, H, n));
  const gpuMs = performance.now() - t;
  t = performance.now();
  upperCholeskyOfInverse(H, n);
  const cpuMs = performance.now() - t;
  const route: FactorRoute = gpuMs < cpuMs ? 'gpu' : 'cpu';
  const note =
    `factorization on the ${route === 'gpu' ? 'GPU (f32)' : 'CPU (f64)'}, ` +
    `measured on this adapter at width ${n}: ${gpuMs.toFixed(1)} ms on the GPU, ${cpuMs.toFixed(1)} ms on the CPU`;
  decided.set(be.adapter, { route, note });
  return { route, note, fresh: true };
}

export interface Factored<T> {
  U: T;
  route: FactorRoute;
  /** how auto chose (the measurement), on the first layer of a run that measured */
  note?: string;
}

/** Damps H (in place) and factors it by the route asked, or by the one `auto` measured faster on this adapter. */
export async function dampedFactor<T>(
  be: Backend<T>,
  H: Float64Array,
  K: number,
  percdamp: number,
  choice: FactorChoice = 'auto',
): Promise<Factored<T>> {
  damp(H, K, percdamp);
  const auto = choice === 'auto' ? await autoRoute(be) : null;
  const route = auto?.route ?? (choice as FactorRoute);
  const U =
    route === 'gpu'
      ? await factorOnBackend(be, H, K)
      : be.fromHost(Float32Array.from(upperCholeskyOfInverse(H, K)), [K, K]);
  return { U, route, ...(auto ? { note: auto.note } : {}) };
}
