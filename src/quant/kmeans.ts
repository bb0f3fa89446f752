// K-means for RPTQ's channel clustering: k-means++ seeding from a seeded generator (the greedy variant with
// 2 + ⌊ln k⌋ candidates per step, as the reference's scikit-learn uses), Lloyd iterations until no label changes,
// several restarts, best inertia kept. The assign and update steps run on the GPU (kmeans.wgsl) or on the CPU twins
// through the same driver, so both give the same labels for the same seed.
import type { Gpu } from '../gpu/gpu.ts';
import * as ops from '../gpu/ops.ts';
import * as ref from '../gpu/reference.ts';
import { SeededRandom } from './random.ts';

export interface KmeansOptions {
  k: number;
  restarts: number;
  maxIter: number;
  seed: number;
}

export interface KmeansResult {
  labels: Uint32Array; // [N]
  centroids: Float32Array; // [k, 4]
  inertia: number;
  iterations: number;
}

/** One Lloyd step pair, on some device. Points are [N, 4] (unused dimensions 0). */
export interface KmeansSteps {
  assign(centroids: Float32Array): Promise<{ labels: Uint32Array; dist: Float32Array }>;
  update(labels: Uint32Array, centroids: Float32Array): Promise<Float32Array>;
  dispose(): void;
}

export function referenceSteps(points: Float32Array): KmeansSteps {
  const P = ref.cpu(points, [points.length / 4, 4]);
  return {
    async assign(M) {
      const labels = new Uint32Array(points.length / 4);
      const dist = new Float32Array(points.length / 4);
      ref.kmeansAssign(P, ref.cpu(M, [M.length / 4, 4]), labels, dist);
      return { labels, dist };
    },
    async update(labels, M) {
      const out = ref.cpu(M.slice(), [M.length / 4, 4]);
      ref.kmeansUpdate(P, labels, out);
      return out.data;
    },
    dispose() {},
  };
}

export function gpuSteps(gpu: Gpu, points: Float32Array): KmeansSteps {
  const N = points.length / 4;
  const P = gpu.upload(points, [N, 4], 'kmeans.P');
  const label = gpu.tensor([N], 'u32', 'kmeans.label');
  const dist = gpu.tensor([N], 'f32', 'kmeans.dist');
  return {
    async assign(Mh) {
      const M = gpu.upload(Mh, [Mh.length / 4, 4], 'kmeans.M');
      ops.kmeansAssign(gpu, P, M, label, dist);
      gpu.release(M);
      return { labels: await gpu.readU32(label), dist: await gpu.read(dist) };
    },
    async update(labels, Mh) {
      const M = gpu.upload(Mh, [Mh.length / 4, 4], 'kmeans.M');
      const L = gpu.upload(labels, [N], 'kmeans.labels');
      ops.kmeansUpdate(gpu, P, L, M);
      const out = await gpu.read(M);
      gpu.release(M);
      gpu.release(L);
      return out;
    },
    dispose() {
      for (const t of [P, label, dist]) gpu.release(t);
    },
  };
}

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
        for (let n = 0; n < N; n++) if ((u -= closest[n]) < 0) (cand = n), (n = N);
      } else cand = rng.int(0, N - 1);
      const candCenter = points.subarray(cand * 4, cand * 4 + 4);
      const next = Float64Array.from(closest, (d, n) => Math.min(d, sqDist(points, n, candCenter as Float32Array, 0)));
      const potential = next.reduce((a, b) => a + b, 0);
      if (potential < bestPotential) (bestPotential = potential), (bestCandidate = cand), (bestClosest = next);
    }
    centers.set(points.subarray(bestCandidate * 4, bestCandidate * 4 + 4), c * 4);
    closest.set(bestClosest!);
  }
  return centers;
}

export async function kmeans(steps: KmeansSteps, points: Float32Array, o: KmeansOptions): Promise<KmeansResult> {
  const N = points.length / 4;
  const k = Math.min(o.k, N);
  const rng = new SeededRandom(o.seed);
  let best: KmeansResult | null = null;
  for (let r = 0; r < o.restarts; r++) {
    let centroids = kmeansPlusPlus(points, k, rng);
    let { labels, dist } = await steps.assign(centroids);
    let it = 0;
    for (; it < o.maxIter; it++) {
      centroids = await steps.update(labels, centroids);
      const next = await steps.assign(centroids);
      const changed = next.labels.some((l, n) => l !== labels[n]);
      ({ labels, dist } = next);
      if (!changed) break;
    }
    let inertia = 0;
    for (const d of dist) inertia += d;
    if (!best || inertia < best.inertia) best = { labels, centroids, inertia, iterations: it + 1 };
  }
  return best!;
}

/** Channels sorted by cluster label, stable: the reorder index (clusters laid out contiguously). */
export function reorderIndex(labels: Uint32Array): Uint32Array {
  return Uint32Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => labels[a] - labels[b] || a - b);
}
