// Twins of the backward kernels (the kernel table's `train` group): the input gradients of a decoder block's ops, the
// weight gradient of a linear layer, AdamW and the MSE loss, for learnable weight clipping trained block by block (the
// block's weights are fixed, only per-row clip parameters learn). Each is the adjoint of its forward twin in
// reference.ts, checked against central finite differences in f64 (tests/gpu/backward.test.ts): every twin here
// allocates its outputs like its upstream gradient's data (`like`), so f64 data is computed and stored in f64.
// Re-exported by reference.ts, where the kernel table and the Backend type find every twin.
import { cpu, erf, like, type CpuTensor } from './reference.ts';

function rowsCols(t: CpuTensor): [number, number] {
  const C = t.shape[t.shape.length - 1];
  return [t.data.length / C, C];
}

/** dX [T, K] = dY [T, N] · W [N, K]: the input gradient of matmul (y = x·Wᵀ). */
export function matmulGradX(dY: CpuTensor, W: CpuTensor): CpuTensor {
  const [T, N] = rowsCols(dY);
  const [N2, K] = W.shape;
  if (N !== N2) throw new Error(`matmulGradX: dY has ${N} columns, W is [${W.shape}]`);
  const dX = like(dY.data, T * K);
  for (let t = 0; t < T; t++)
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let n = 0; n < N; n++) acc += dY.data[t * N + n] * W.data[n * K + k];
      dX[t * K + k] = acc;
    }
  return cpu(dX, [...dY.shape.slice(0, -1), K]);
}

/** dW [N, K] = dY [T, N]ᵀ · X [T, K]: the weight gradient of matmul (y = x·Wᵀ). */
export function matmulGradW(dY: CpuTensor, X: CpuTensor): CpuTensor {
  const [T, N] = rowsCols(dY);
  const [T2, K] = rowsCols(X);
  if (T !== T2) throw new Error(`matmulGradW: dY has ${T} rows, X has ${T2}`);
  const dW = like(dY.data, N * K);
  for (let n = 0; n < N; n++)
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let t = 0; t < T; t++) acc += dY.data[t * N + n] * X.data[t * K + k];
      dW[n * K + k] = acc;
    }
  return cpu(dW, [N, K]);
}

/** dx of y = x·rstd·g, rstd = 1/√(mean(x²) + eps), per row: rstd·(g·dy − x·rstd²·Σ(g·dy·x)/C). */
export function rmsNormGrad(x: CpuTensor, g: CpuTensor, dy: CpuTensor, eps: number): CpuTensor {
  const [T, C] = rowsCols(x);
  const dx = like(dy.data, x.data.length);
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let ss = 0;
    let dot = 0;
    for (let c = 0; c < C; c++) {
      ss += x.data[o + c] ** 2;
      dot += g.data[c] * dy.data[o + c] * x.data[o + c];
    }
    const rstd = 1 / Math.sqrt(ss / C + eps);
    const k = (rstd * rstd * dot) / C;
    for (let c = 0; c < C; c++) dx[o + c] = rstd * (g.data[c] * dy.data[o + c] - x.data[o + c] * k);
  }
  return cpu(dx, [...x.shape]);
}

/** dx of y = (x − mean)·rstd·g + b, per row: rstd·(g·dy − mean(g·dy) − x̂·mean(g·dy·x̂)), x̂ = (x − mean)·rstd. */
export function layerNormGrad(x: CpuTensor, g: CpuTensor, dy: CpuTensor, eps: number): CpuTensor {
  const [T, C] = rowsCols(x);
  const dx = like(dy.data, x.data.length);
  for (let t = 0; t < T; t++) {
    const o = t * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x.data[o + c];
    mean /= C;
    let v2 = 0;
    for (let c = 0; c < C; c++) v2 += (x.data[o + c] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v2 / C + eps);
    let s1 = 0;
    let s2 = 0;
    for (let c = 0; c < C; c++) {
      const gd = g.data[c] * dy.data[o + c];
      s1 += gd;
      s2 += gd * (x.data[o + c] - mean) * rstd;
    }
    for (let c = 0; c < C; c++) {
      const xhat = (x.data[o + c] - mean) * rstd;
      dx[o + c] = rstd * (g.data[c] * dy.data[o + c] - s1 / C - (xhat * s2) / C);
    }
  }
  return cpu(dx, [...x.shape]);
}

/** In place on dx [T, H·D]: the adjoint of rope at positions 0..T−1, each pair (i, i + D/2) rotated by −θ. */
export function ropeGrad(cos: CpuTensor, sin: CpuTensor, dx: CpuTensor, H: number, D: number): void {
  const half = D / 2;
  const T = dx.data.length / (H * D);
  if (T * half > cos.data.length) throw new Error(`ropeGrad: positions up to ${T} exceed the table`);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < half; i++) {
        const c = cos.data[t * half + i];
        const s = sin.data[t * half + i];
        const base = t * H * D + h * D;
        const y1 = dx.data[base + i];
        const y2 = dx.data[base + i + half];
        dx.data[base + i] = y1 * c + y2 * s;
        dx.data[base + i + half] = y2 * c - y1 * s;
      }
}

/**
 * The gradients of causal grouped-query attention (the attention twin with full-precision probabilities and no
 * layout): query head h reads KV head h / (H / HKV). The softmax is recomputed per query: p = softmax(scale·q·kⱼ),
 * o = Σ pⱼ·vⱼ, dsⱼ = pⱼ·(dO·vⱼ − dO·o); dq = scale·Σ dsⱼ·kⱼ, dkⱼ += scale·dsⱼ·q, dvⱼ += pⱼ·dO (summed in f64).
 */
export function attentionGrad(
  q: CpuTensor,
  k: CpuTensor,
  v: CpuTensor,
  dO: CpuTensor,
  H: number,
  HKV: number,
  D: number,
  scale: number,
): { dq: CpuTensor; dk: CpuTensor; dv: CpuTensor } {
  const T = q.data.length / (H * D);
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  const p = new Float64Array(T);
  const o = new Float64Array(D);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / HKV));
      const qb = t * H * D + h * D;
      const kv = (j: number) => j * HKV * D + g * D;
      let m = -Infinity;
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let c = 0; c < D; c++) d += q.data[qb + c] * k.data[kv(j) + c];
        p[j] = d * scale;
        m = Math.max(m, p[j]);
      }
      let l = 0;
      for (let j = 0; j <= t; j++) l += p[j] = Math.exp(p[j] - m);
      o.fill(0);
      for (let j = 0; j <= t; j++) {
        p[j] /= l;
        for (let c = 0; c < D; c++) o[c] += p[j] * v.data[kv(j) + c];
      }
      let delta = 0;
      for (let c = 0; c < D; c++) delta += dO.data[qb + c] * o[c];
      for (let j = 0; j <= t; j++) {
        let dp = 0;
        for (let c = 0; c < D; c++) dp += dO.data[qb + c] * v.data[kv(j) + c];
        const ds = p[j] * (dp - delta) * scale;
        for (let c = 0; c < D; c++) {
          dq[qb + c] += ds * k.data[kv(j) + c];
          dk[kv(j) + c] += ds * q.data[qb + c];
          dv[kv(j) + c] += p[j] * dO.data[qb + c];
        }
      }
    }
  const out = (a: Float64Array, shape: number[]) => {
    const r = like(dO.data, a.length);
    r.set(a);
    return cpu(r, [...shape]);
  };
  return { dq: out(dq, q.shape), dk: out(dk, k.shape), dv: out(dv, v.shape) };
}

/** In place: dy ← dy·(y > 0), y relu's output. */
export function reluGrad(y: CpuTensor, dy: CpuTensor): void {
  for (let i = 0; i < dy.data.length; i++) if (!(y.data[i] > 0)) dy.data[i] = 0;
}

/**
 * In place: dy ← dy·gelu′(x) of the exact GELU 0.5·x·(1 + erf(x/√2)), x the pre-activation:
 * gelu′(x) = 0.5·(1 + erf(x/√2)) + x·exp(−x²/2)/√(2π), erf the gelu twin's (and kernel's) A&S 7.1.26.
 */
export function geluGrad(x: CpuTensor, dy: CpuTensor): void {
  const invSqrt2Pi = 1 / Math.sqrt(2 * Math.PI);
  for (let i = 0; i < dy.data.length; i++) {
    const v = x.data[i];
    dy.data[i] *= 0.5 * (1 + erf(v * Math.SQRT1_2)) + v * Math.exp(-0.5 * v * v) * invSqrt2Pi;
  }
}

/** The gradients of out = silu(gate)·up: dGate = d·up·σ(g)·(1 + g·(1 − σ(g))), dUp = d·silu(g). */
export function siluMulGrad(gate: CpuTensor, up: CpuTensor, d: CpuTensor): { dGate: CpuTensor; dUp: CpuTensor } {
  const n = gate.data.length;
  const dGate = like(d.data, n);
  const dUp = like(d.data, n);
  for (let i = 0; i < n; i++) {
    const g = gate.data[i];
    const sig = 1 / (1 + Math.exp(-g));
    dGate[i] = d.data[i] * up.data[i] * sig * (1 + g * (1 - sig));
    dUp[i] = d.data[i] * g * sig;
  }
  return { dGate: cpu(dGate, [...gate.shape]), dUp: cpu(dUp, [...up.shape]) };
}

/**
 * The adjoint of blockRotate (y = xin · blockdiag(R), xin the columns of x gathered by perm): dxin = dy ·
 * blockdiag(R)ᵀ, scattered back through perm (dx[t, perm[k]] += dxin[t, k]; the kernel writes, perm being a
 * permutation).
 */
export function blockRotateGrad(dy: CpuTensor, R: CpuTensor, n: number, perm: Uint32Array | null): CpuTensor {
  const [T, C] = rowsCols(dy);
  if (C % n !== 0) throw new Error(`blockRotateGrad: block size ${n} does not divide the width ${C}`);
  const perBlock = R.data.length === C * n;
  if (!perBlock && R.data.length !== n * n)
    throw new Error(`blockRotateGrad: R has ${R.data.length} values, neither one ${n} × ${n} matrix nor ${C / n}`);
  const dx = like(dy.data, T * C);
  for (let t = 0; t < T; t++)
    for (let b = 0; b < C / n; b++) {
      const rb = (perBlock ? b : 0) * n * n;
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += dy.data[t * C + b * n + i] * R.data[rb + j * n + i];
        dx[t * C + (perm ? perm[b * n + j] : b * n + j)] += acc;
      }
    }
  return cpu(dx, [...dy.shape]);
}

/** AdamW's scalars for a step ≥ 1, as torch.optim.AdamW forms them (in double) before they meet the tensors. */
export function adamWScalars(step: number, lr: number, beta1: number, beta2: number, wd: number) {
  if (!(step >= 1)) throw new Error(`adamW: step ${step}; the first step is 1`);
  return {
    decay: 1 - lr * wd,
    stepSize: lr / (1 - beta1 ** step),
    bc2Sqrt: Math.sqrt(1 - beta2 ** step),
    oneMinusBeta1: 1 - beta1,
    oneMinusBeta2: 1 - beta2,
  };
}

/**
 * One torch.optim.AdamW step in place on p, m, v (step ≥ 1, the step being taken): p ← p·(1 − lr·wd);
 * m ← m.lerp(g, 1 − β1); v ← v·β2 + (1 − β2)·g²; p ← p − lr/(1 − β1^step) · m / (√v / √(1 − β2^step) + eps).
 */
export function adamW(
  p: CpuTensor,
  g: CpuTensor,
  m: CpuTensor,
  v: CpuTensor,
  step: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
): void {
  const { decay, stepSize, bc2Sqrt, oneMinusBeta1, oneMinusBeta2 } = adamWScalars(step, lr, beta1, beta2, wd);
  for (let i = 0; i < p.data.length; i++) {
    const gi = g.data[i];
    const pi = p.data[i] * decay;
    // torch's lerp: start + w·(end − start) for w < 0.5, else end − (end − start)·(1 − w)
    const mi = oneMinusBeta1 < 0.5 ? m.data[i] + oneMinusBeta1 * (gi - m.data[i]) : gi - (gi - m.data[i]) * beta1;
    const vi = v.data[i] * beta2 + oneMinusBeta2 * gi * gi;
    m.data[i] = mi;
    v.data[i] = vi;
    p.data[i] = pi - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
  }
}

/** loss [1] = mean((pred − target)²) over every element (summed in f64), grad = 2·(pred − target)/numel. */
export function mseGrad(pred: CpuTensor, target: CpuTensor): { loss: CpuTensor; grad: CpuTensor } {
  const n = pred.data.length;
  if (target.data.length !== n) throw new Error(`mseGrad: pred has ${n} values, target ${target.data.length}`);
  const grad = like(pred.data, n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const d = pred.data[i] - target.data[i];
    sum += d * d;
    grad[i] = (2 * d) / n;
  }
  const loss = like(pred.data, 1);
  loss[0] = sum / n;
  return { loss: cpu(loss, [1]), grad: cpu(grad, [...pred.shape]) };
}
