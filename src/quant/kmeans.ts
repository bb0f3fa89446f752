// K-means for RPTQ's channel clustering: k-means++ seeding from a seeded generator (the greedy variant with
// 2 + ⌊ln k⌋ candidates per step, as the reference's scikit-learn uses), Lloyd iterations until no label changes,
// several restarts, best inertia kept. The assign and update steps run on the GPU (kmeans.wgsl) or on the CPU twins
// through the same driver, so both give the same labels for the same seed.
import { referenceBackend, type Backend } from '../gpu/backend.ts';
import { SeededRandom } from './random.ts';

export interface KmeansOptions {
  k: number;
  restarts: number;
  maxIter: number;
  seed: number;
  /** independent problems laid out one after another in the points (R2/R3 cluster inside each head); default 1 */
  heads?: number;
}

export interface KmeansResult {
  /** cluster of each point, 0..k−1 inside its head */
  labels: Uint32Array; // [N]
  centroids: Float32Array; // [heads · k, 4]
  /** Σ over heads of the best restart's inertia */
  inertia: number;
  iterations: number;
}

/**
 * Lloyd's iterations over many problems at once, on some device. Points are [N, 4] (unused dimensions 0), in
 * segments of `seg` points; segment s owns centroids [s·K, s·K + K) and labels are global centroid indices.
 * Centroids and labels stay on the device between steps; only the labels come back each step.
 */
export interface KmeansSteps {
  /** sets the centroids and assigns every point: its label */
  start(centroids: Float32Array): Promise<Uint32Array>;
  /** one Lloyd step: each centroid ← the mean of its points, then assign: the new labels */
  step(): Promise<Uint32Array>;
  /** the centroids and each point's squared distance to its centroid, as of the last assignment */
  result(): Promise<{ centroids: Float32Array; dist: Float32Array }>;
  dispose(): void;
}
export type KmeansDevice = (points: Float32Array, K: number, seg: number) => KmeansSteps;

/** Lloyd's steps on a backend: the kmeans kernels on WebGPU, their twins on the reference. */
export function backendSteps<T>(be: Backend<T>): KmeansDevice {
  return (points, K, seg) => {
    const N = points.length / 4;
    const P = be.fromHost(points, [N, 4]);
    const label = be.ids(new Uint32Array(N));
    const dist = be.zeros([N]);
    let M: T | null = null;
    return {
      async start(centroids) {
        be.release(M);
        M = be.fromHost(centroids, [centroids.length / 4, 4]);
        be.rptq.kmeansAssign(P, M, label, dist, K, seg);
        return be.readIds(label);
      },
      async step() {
        be.rptq.kmeansUpdate(P, label, M!, K, seg);
        be.rptq.kmeansAssign(P, M!, label, dist, K, seg);
        return be.readIds(label);
      },
      async result() {
        const [centroids, d] = await be.readMany([M!, dist]);
        return { centroids, dist: d };
      },
      dispose() {
        for (const t of [P, dist, M]) be.release(t);
        be.release(label);
      },
    };
  };
}

/** The CPU twins, for tests and the reference backend. */
export const referenceSteps: KmeansDevice = backendSteps(referenceBackend());

function sqDist(points: Float32Array, n: number, c: Float32Array, j: number): number {
  let s = 0;
  for (let d = 0; d < 4; d++) s += (points[n * 4 + d] - c[j * 4 + d]) ** 2;
  return s;
}

/** Greedy k-means++ seeding. */
export function kmeansPlusPlus(points: Float32Array, k: number, rng: SeededRandom): Float32Array {
  const N = points.length / 4;
  const centers = new Float32Array(k * 4);
  const trials = 2 + Math.floor(Math.log(k));
  const first = rng.int(0, N - 1);
  centers.set(points.subarray(first * 4, first * 4 + 4), 0);
  const closest = Float64Array.from({ length: N }, (_, n) => sqDist(points, n, centers, 0));
  for (let c = 1; c < k; c++) {
    const total = closest.reduce((a, b) => a + b, 0);
    let bestCandidate = -1;
    let bestPotential = Infinity;
    let bestClosest: Float64Array | null = null;
    for (let t = 0; t < trials; t++) {
      // sample ∝ D²; with every point on a centre already, fall back to uniform
      let cand = N - 1;
      if (total > 0) {
        let u = rng.next() * total;
        for (let n = 0; n < N; n++) if ((u -= closest[n]) < 0) ((cand = n), (n = N));
      } else cand = rng.int(0, N - 1);
      const candCenter = points.subarray(cand * 4, cand * 4 + 4);
      const next = Float64Array.from(closest, (d, n) => Math.min(d, sqDist(points, n, candCenter as Float32Array, 0)));
      const potential = next.reduce((a, b) => a + b, 0);
      if (potential < bestPotential) ((bestPotential = potential), (bestCandidate = cand), (bestClosest = next));
    }
    centers.set(points.subarray(bestCandidate * 4, bestCandidate * 4 + 4), c * 4);
    closest.set(bestClosest!);
  }
  return centers;
}

/**
 * K-means of each head's points (points [heads · n, 4]): every (head, restart) is seeded by k-means++ from one seeded
 * generator, in head-major order, then all of them run Lloyd's iterations together, one dispatch per step, until no
 * label changes anywhere (a converged problem is a fixed point, so it is not disturbed). Per head the restart with the
 * lowest inertia is kept (the first on ties).
 */
export async function kmeans(device: KmeansDevice, points: Float32Array, o: KmeansOptions): Promise<KmeansResult> {
  const heads = o.heads ?? 1;
  const n = points.length / 4 / heads;
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`kmeans: ${points.length / 4} points do not split into ${heads} heads`);
  const k = Math.min(o.k, n);
  const R = o.restarts;
  const rng = new SeededRandom(o.seed);
  // segment s = h·R + r holds head h's points; its centroids are [s·k, s·k + k)
  const all = new Float32Array(heads * R * n * 4);
  let centroids: Float32Array = new Float32Array(heads * R * k * 4);
  for (let h = 0; h < heads; h++) {
    const head = points.subarray(h * n * 4, (h + 1) * n * 4);
    for (let r = 0; r < R; r++) {
      const s = h * R + r;
      all.set(head, s * n * 4);
      centroids.set(kmeansPlusPlus(head, k, rng), s * k * 4);
    }
  }
  const steps = device(all, k, n);
  try {
    let labels = await steps.start(centroids);
    let it = 0;
    for (; it < o.maxIter; it++) {
      const next = await steps.step();
      const changed = next.some((l, i) => l !== labels[i]);
      labels = next;
      if (!changed) break;
    }
    const final = await steps.result();
    const dist = final.dist;
    centroids = final.centroids;
    const out: KmeansResult = {
      labels: new Uint32Array(heads * n),
      centroids: new Float32Array(heads * k * 4),
      inertia: 0,
      iterations: it + 1,
    };
    for (let h = 0; h < heads; h++) {
      let best = 0;
      let bestInertia = Infinity;
      for (let r = 0; r < R; r++) {
        let inertia = 0;
        for (let i = (h * R + r) * n; i < (h * R + r + 1) * n; i++) inertia += dist[i];
        if (inertia < bestInertia) ((bestInertia = inertia), (best = r));
      }
      const s = h * R + best;
      for (let i = 0; i < n; i++) out.labels[h * n + i] = labels[s * n + i] - s * k;
      out.centroids.set(centroids.subarray(s * k * 4, (s + 1) * k * 4), h * k * 4);
      out.inertia += bestInertia;
    }
    return out;
  } finally {
    steps.dispose();
  }
}

/** Channels sorted by cluster label, stable: the reorder index (clusters laid out contiguously). */
export function reorderIndex(labels: Uint32Array): Uint32Array {
  return Uint32Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
}
