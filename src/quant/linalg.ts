// Dense symmetric linear algebra for GPTQ, in f64 on the CPU (worker or Node): Cholesky, cholesky_inverse and the
// upper factor of the inverse. Widths up to a few thousand take seconds here; GPTQ calls these once per layer.
import { LabError } from '../errors.ts';

/** Lower Cholesky factor L of a symmetric positive-definite A [n, n] (L Lᵀ = A). */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = A[j * n + j];
    for (let k = 0; k < j; k++) d -= L[j * n + k] ** 2;
    if (!(d > 0)) {
      throw new LabError(
        `the Hessian is not positive definite at column ${j} (pivot ${d.toExponential(3)}); raise --percdamp`,
      );
    }
    const ljj = Math.sqrt(d);
    L[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = A[i * n + j];
      const li = i * n;
      const lj = j * n;
      for (let k = 0; k < j; k++) s -= L[li + k] * L[lj + k];
      L[li + j] = s / ljj;
    }
  }
  return L;
}

/** A⁻¹ from A's lower Cholesky factor (torch.cholesky_inverse): A⁻¹ = L⁻ᵀ L⁻¹. */
export function choleskyInverse(L: Float64Array, n: number): Float64Array {
  // Linv: inverse of the lower-triangular L, column by column
  const Linv = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    Linv[j * n + j] = 1 / L[j * n + j];
    for (let i = j + 1; i < n; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * n + k] * Linv[k * n + j];
      Linv[i * n + j] = s / L[i * n + i];
    }
  }
  // A⁻¹[i, j] = Σ_k Linv[k, i] Linv[k, j], k ≥ max(i, j)
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      let s = 0;
      for (let k = j; k < n; k++) s += Linv[k * n + i] * Linv[k * n + j];
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  return inv;
}

/** Upper Cholesky factor U of A (Uᵀ U = A) = Lᵀ. */
export function choleskyUpper(A: Float64Array, n: number): Float64Array {
  const L = cholesky(A, n);
  const U = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) U[i * n + j] = L[j * n + i];
  return U;
}

/**
 * U = cholesky(cholesky_inverse(cholesky(H)), upper), computed without forming H⁻¹: with P the reversal
 * permutation and L′ = cholesky(P H P), H⁻¹ = (P L′⁻ᵀ P)(P L′⁻¹ P), so U = P L′⁻¹ P (upper,
 * positive diagonal, hence the unique factor). One Cholesky and one triangular inverse: about a third of the literal
 * route's work.
 */
export function upperCholeskyOfInverse(H: Float64Array, n: number): Float64Array {
  const rev = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rev[i * n + j] = H[(n - 1 - i) * n + (n - 1 - j)];
  const L = cholesky(rev, n);
  const U = new Float64Array(n * n);
  const x = new Float64Array(n);
  // column j of L⁻¹ by forward substitution (rows of L are contiguous), written reversed into U
  for (let j = 0; j < n; j++) {
    x.fill(0, 0, j);
    for (let i = j; i < n; i++) {
      let s = i === j ? 1 : 0;
      const li = i * n;
      for (let k = j; k < i; k++) s -= L[li + k] * x[k];
      x[i] = s / L[li + i];
      U[(n - 1 - i) * n + (n - 1 - j)] = x[i];
    }
  }
  return U;
}
