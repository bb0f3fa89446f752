// DuQuant's orthogonal transforms on real activations (stories260K block 1, the reference forward): every matrix is
// orthogonal to 1e-5, the greedy rotation lowers the activation's max − min, the reference's row-index exchange is a
// different transform, the zigzag permutation deals channels as the reference does.
import { beforeAll, describe, expect, it } from 'vitest';
import { gpuBackend, referenceBackend } from '../../src/gpu/backend.ts';
import * as ref from '../../src/gpu/reference.ts';
import { Decoder } from '../../src/model/forward.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { evalText } from '../../src/eval/datasets.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { SeededRandom } from '../../src/quant/random.ts';
import {
  givensSpread,
  greedyRotation,
  greedyRotationOn,
  hadamard,
  orthogonalityError,
  randomOrthogonal,
  rotateRows,
  rotationBlock,
  zigzag,
} from '../../src/quant/rotation.ts';
import { MODELS, loadFixture, relErr, sharedGpu } from '../helpers.ts';

const acts = new Map<string, ref.CpuTensor>();
beforeAll(async () => {
  const m = await loadFixture(MODELS.stories260K);
  const be = referenceBackend();
  const ids = m.tokenizer.encode((await evalText('tinystories', folderReader(), 128)).text).slice(0, 128);
  await new Decoder(be, m.config, new WeightStore(be, m.config, m.checkpoint)).windowNll(ids, {
    taps: (layer, point, x) => void (layer === 1 && acts.set(point, ref.cpu(x.data.slice(), [...x.shape]))),
  });
});

const peak = (x: ArrayLike<number>) => Math.max(...Array.from(x)) - Math.min(...Array.from(x));

describe("DuQuant's rotations", () => {
  it('B spreads channel 0 evenly; B, random Q and Hadamard are orthogonal; block sizes follow the width', () => {
    for (const n of [2, 8, 64, 86, 128]) {
      const B = givensSpread(n);
      expect(orthogonalityError(B, n), `B(${n})`).toBeLessThan(1e-12);
      for (let j = 0; j < n; j++) expect(B[j]).toBeCloseTo(1 / Math.sqrt(n), 12);
      expect(orthogonalityError(randomOrthogonal(n, new SeededRandom(n)), n), `Q(${n})`).toBeLessThan(1e-12);
    }
    const H = hadamard(8);
    expect(orthogonalityError(H, 8)).toBeLessThan(1e-12);
    expect(H.every((v, i) => v === H[(i % 8) * 8 + Math.floor(i / 8)])).toBe(true);
    expect(() => hadamard(12)).toThrow(/power-of-two/);
    expect([
      rotationBlock(64, 128),
      rotationBlock(172, 128),
      rotationBlock(768, 128),
      rotationBlock(11008, 128),
    ]).toEqual([64, 86, 128, 128]);
  });

  it.each([
    ['attn_norm', 64],
    ['down.in', 86],
  ] as const)(
    'the greedy rotation of real %s activations (blocks of %i) is orthogonal and lowers max − min; the reference row-index exchange differs',
    (tap, n) => {
      const x = acts.get(tap)!;
      const X = Float64Array.from(x.data);
      const g = greedyRotation(X, n, 32, new SeededRandom(0));
      console.log(
        `${tap}: max − min ${g.peaks[0].toFixed(3)} → ${g.peaks[g.steps].toFixed(3)} after ${g.steps} of 32 steps`,
      );
      expect(orthogonalityError(g.R, n)).toBeLessThan(1e-5);
      expect(g.steps).toBeGreaterThan(0);
      expect(peak(rotateRows(X, X.length / n, n, g.R))).toBeCloseTo(g.peaks[g.steps], 9);
      expect(g.peaks[g.steps]).toBeLessThan(g.peaks[0]);
      expect(Math.min(...g.peaks)).toBe(g.peaks[g.steps]);
      const r = greedyRotation(X, n, 32, new SeededRandom(0), true);
      expect(orthogonalityError(r.R, n)).toBeLessThan(1e-5);
      expect(Array.from(r.R)).not.toEqual(Array.from(g.R));
      // the same seed gives the same rotation
      expect(Array.from(greedyRotation(X, n, 32, new SeededRandom(0)).R)).toEqual(Array.from(g.R));
    },
  );

  it('the greedy search on the GPU (greedyRotation kernels) picks the same steps as the host search on real activations', async () => {
    const be = gpuBackend(await sharedGpu());
    for (const [tap, n] of [
      ['attn_norm', 64],
      ['down.in', 86],
    ] as const) {
      const x = acts.get(tap)!;
      const host = greedyRotation(Float64Array.from(x.data), n, 32, new SeededRandom(5));
      const dev = await greedyRotationOn(be, be.fromHost(x.data, [x.data.length / n, n]), n, 32, new SeededRandom(5));
      expect(dev.steps, tap).toBe(host.steps);
      expect(relErr(dev.peaks, host.peaks)).toBeLessThan(1e-5);
      expect(relErr(dev.R, host.R)).toBeLessThan(1e-5);
    }
  });

  it('zigzag deals channels by decreasing score into the buckets 0,1,…,K−1,K−1,…,0 and is a permutation', () => {
    const score = [9, 1, 8, 2, 7, 3, 6, 4];
    // sorted: 0(9) 2(8) 4(7) 6(6) 7(4) 5(3) 3(2) 1(1); K = 2 buckets of 4: b0 gets 0, 6, 7, 1; b1 gets 2, 4, 5, 3
    expect(Array.from(zigzag(score, 4))).toEqual([0, 6, 7, 1, 2, 4, 5, 3]);
    const real = acts.get('down.in')!;
    const C = 172;
    const maxAbs = Array.from({ length: C }, (_, c) =>
      Math.max(...Array.from({ length: real.data.length / C }, (_, t) => Math.abs(real.data[t * C + c]))),
    );
    const p = zigzag(maxAbs, 86);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: C }, (_, i) => i));
    // the largest two channels land in different blocks
    const top = Array.from({ length: C }, (_, i) => i)
      .sort((a, b) => maxAbs[b] - maxAbs[a])
      .slice(0, 2);
    expect(top.map((c) => Math.floor(p.indexOf(c) / 86)).sort()).toEqual([0, 1]);
  });
});
