// Plain TypeScript twins of the WGSL kernels: same names, same argument order, same math, written for clarity.
// They are the executable definition each kernel is tested against, and the CPU backend of the forward pass.
export interface CpuTensor {
  data: Float32Array;
  shape: number[];
}

export const cpu = (data: Float32Array, shape: number[]): CpuTensor => ({ data, shape });

function rowsCols(t: CpuTensor): [number, number] {
  const C = t.shape[t.shape.length - 1];
  return [t.data.length / C, C];
}

/** y[M, N] = x[M, K] · W[N, K]ᵀ + b */
export function matmul(x: CpuTensor, W: CpuTensor, b: CpuTensor | null): CpuTensor {
  const [M, K] = rowsCols(x);
  const [N] = W.shape;
  const y = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const xo = m * K;
    for (let n = 0; n < N; n++) {
      const wo = n * K;
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x.data[xo + k] * W.data[wo + k];
      y[m * N + n] = acc + (b ? b.data[n] : 0);
    }
  }
  return cpu(y, [...x.shape.slice(0, -1), N]);
}

export function embed(E: CpuTensor, ids: Uint32Array): CpuTensor {
  const C = E.shape[1];
  const y = new Float32Array(ids.length * C);
  ids.forEach((id, t) => y.set(E.data.subarray(id * C, id * C + C), t * C));
  return cpu(y, [ids.length, C]);
}

export function layerNorm(x: CpuTensor, g: CpuTensor, b: CpuTensor, eps: number): CpuTensor {
  const [T, C] = rowsCols(x);
  const y = new Float32Array(x.data.length);
  for (let t = 0; t < T; t++) {
    const row = x.data.subarray(t * C, t * C + C);
    let mean = 0;
    for (const v of row) mean += v;
    mean /= C;
    let v2 = 0;
    for (const v of row) v2 += (v - mean) ** 2;
    const rstd = 1 / Math.sqrt(v2 / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = (row[c] - mean) * rstd * g.data[c] + b.data[c];
  }
  return cpu(y, [...x.shape]);
}

export function rmsNorm(x: CpuTensor, g: CpuTensor, eps: number): CpuTensor {
  const [T, C] = rowsCols(x);
  const y = new Float32Array(x.data.length);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let c = 0; c < C; c++) ss += x.data[t * C + c] ** 2;
    const rstd = 1 / Math.sqrt(ss / C + eps);
    for (let c = 0; c < C; c++) y[t * C + c] = x.data[t * C + c] * rstd * g.data[c];
  }
  return cpu(y, [...x.shape]);
}

/** In place, HF rotate_half: pairs (i, i + D/2) inside each head; cos/sin tables [positions, D/2]. */
export function rope(cos: CpuTensor, sin: CpuTensor, x: CpuTensor, H: number, D: number, pos0 = 0): void {
  const half = D / 2;
  const T = x.data.length / (H * D);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < half; i++) {
        const c = cos.data[(pos0 + t) * half + i];
        const s = sin.data[(pos0 + t) * half + i];
        const base = t * H * D + h * D;
        const x1 = x.data[base + i];
        const x2 = x.data[base + i + half];
        x.data[base + i] = x1 * c - x2 * s;
        x.data[base + i + half] = x2 * c + x1 * s;
      }
}

/** Causal attention, grouped-query: head h reads KV head h / (H / HKV). */
export function attention(q: CpuTensor, k: CpuTensor, v: CpuTensor, H: number, HKV: number, D: number, scale: number): CpuTensor {
  const T = q.data.length / (H * D);
  const o = new Float32Array(q.data.length);
  const s = new Float64Array(T);
  for (let t = 0; t < T; t++)
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / HKV));
      const qb = t * H * D + h * D;
      let m = -Infinity;
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let c = 0; c < D; c++) d += q.data[qb + c] * k.data[j * HKV * D + g * D + c];
        s[j] = d * scale;
        m = Math.max(m, s[j]);
      }
      let l = 0;
      for (let j = 0; j <= t; j++) l += s[j] = Math.exp(s[j] - m);
      for (let c = 0; c < D; c++) {
        let acc = 0;
        for (let j = 0; j <= t; j++) acc += s[j] * v.data[j * HKV * D + g * D + c];
        o[qb + c] = acc / l;
      }
    }
  return cpu(o, [...q.shape]);
}

export function relu(y: CpuTensor): void {
  for (let i = 0; i < y.data.length; i++) y.data[i] = Math.max(y.data[i], 0);
}

/** Exact GELU, 0.5·x·(1 + erf(x/√2)); erf by the same A&S 7.1.26 formula the kernel uses. */
export function gelu(y: CpuTensor): void {
  for (let i = 0; i < y.data.length; i++) {
    const v = y.data[i];
    y.data[i] = 0.5 * v * (1 + erf(v * Math.SQRT1_2));
  }
}

export function erf(x: number): number {
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.sign(x) * (1 - poly * Math.exp(-a * a));
}

export function siluMul(gate: CpuTensor, up: CpuTensor): CpuTensor {
  const out = new Float32Array(gate.data.length);
  for (let i = 0; i < out.length; i++) {
    const g = gate.data[i];
    out[i] = (g / (1 + Math.exp(-g))) * up.data[i];
  }
  return cpu(out, [...gate.shape]);
}

export function add(d: CpuTensor, h: CpuTensor): void {
  for (let i = 0; i < h.data.length; i++) h.data[i] += d.data[i];
}

export function crossEntropy(logits: CpuTensor, targets: Uint32Array): CpuTensor {
  const [T, V] = rowsCols(logits);
  const nll = new Float32Array(T);
  for (let t = 0; t < T; t++) {
    const row = logits.data.subarray(t * V, t * V + V);
    let m = -Infinity;
    for (const v of row) m = Math.max(m, v);
    let z = 0;
    for (const v of row) z += Math.exp(v - m);
    nll[t] = Math.log(z) + m - row[targets[t]];
  }
  return cpu(nll, [T]);
}

export function checkFinite(x: CpuTensor): number {
  let n = 0;
  for (const v of x.data) if (!Number.isFinite(v)) n++;
  return n;
}
