// The factorization identity GPTQ relies on, on a real Hessian-like matrix: the fast route equals the literal one.
import { describe, expect, it } from 'vitest';
import { cholesky, choleskyInverse, choleskyUpper, upperCholeskyOfInverse } from '../../src/quant/linalg.ts';
import { SeededRandom } from '../../src/quant/random.ts';

describe('linalg', () => {
  it('upperCholeskyOfInverse(H) = cholesky(cholesky_inverse(cholesky(H)), upper)', () => {
    const n = 96;
    const rng = new SeededRandom(7);
    // H = XᵀX/T + damping: symmetric positive definite, like a damped GPTQ Hessian
    const T = 300;
    const X = Float64Array.from({ length: T * n }, () => rng.next() * 2 - 1);
    const H = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < T; t++) s += X[t * n + i] * X[t * n + j];
        H[i * n + j] = s / T + (i === j ? 0.01 : 0);
      }
    const literal = choleskyUpper(choleskyInverse(cholesky(H, n), n), n);
    const fast = upperCholeskyOfInverse(H, n);
    let err = 0;
    for (let i = 0; i < n * n; i++) err = Math.max(err, Math.abs(fast[i] - literal[i]));
    expect(err).toBeLessThan(1e-9);
  });

  it('a matrix that is not positive definite says to raise --percdamp', () => {
    expect(() => cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toThrow(/raise --percdamp/);
  });
});
