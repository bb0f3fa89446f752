// 16-bit weight storage (issue 14): f16 and bf16 weights packed two per u32, widened in the matmul and embed kernels'
// registers; the GPU's f32 → 16-bit packing (convert.wgsl) gives the host's bits (half.ts, its twin) exactly.
import { describe, expect, it } from 'vitest';
import * as ops from '../../src/gpu/kernels.ts';
import * as ref from '../../src/gpu/reference.ts';
import { f32ToBf16, f32ToF16, fromHalfBits, roundToHalf, toHalfBits, type Half } from '../../src/gpu/half.ts';
import { MODELS, TOL, loadFixture, relErr, sharedGpu } from '../helpers.ts';

describe('16-bit weight storage', () => {
  it('round to nearest even, subnormals, overflow and NaN as IEEE (host encoder)', () => {
    expect(f32ToF16(1)).toBe(0x3c00);
    expect(f32ToF16(65504)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // halfway past the largest finite: rounds to infinity
    expect(f32ToF16(2 ** -24)).toBe(1);
    expect(f32ToF16(2 ** -25)).toBe(0); // a tie to even: 0
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00); // a tie to even: down
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie to even: up
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToBf16(1)).toBe(0x3f80);
    expect(f32ToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie to even
    expect(f32ToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it.each(['f16', 'bf16'] as const)(
    "pack16 on the GPU gives the host encoder's bits (%s, real weights and edge values)",
    async (format: Half) => {
      const gpu = await sharedGpu();
      const m = await loadFixture(MODELS.stories260K);
      const w = await m.checkpoint.readF32('model.layers.0.mlp.down_proj.weight');
      const edges = Float32Array.of(
        0,
        -0,
        1 + 2 ** -11,
        65520,
        -7e4,
        2 ** -25,
        3 * 2 ** -26,
        1e-8,
        Infinity,
        -Infinity,
        3.3e38,
        12345.678,
      );
      const x = new Float32Array(w.length + edges.length + 1); // an odd count: the last word holds one value
      x.set(w);
      x.set(edges, w.length);
      const t = gpu.upload(x, [x.length]);
      const packed = ops.pack16(gpu, t, format);
      const got = await gpu.read(packed);
      expect(Array.from(toHalfBits(got, format))).toEqual(Array.from(toHalfBits(x, format)));
      expect(got).toEqual(roundToHalf(x, format));
    },
  );

  it.each([
    ['f16', 'direct'],
    ['bf16', 'direct'],
    ['f16', 'tiled'],
    ['bf16', 'tiled'],
  ] as const)(
    'matmul with %s weights (%s kernels) equals f32 weights holding the same values',
    async (format, variant) => {
      const gpu = await sharedGpu();
      const m = await loadFixture(MODELS.stories260K);
      const saved = gpu.kernelVariant;
      gpu.kernelVariant = variant;
      try {
        // K = 64 (vec4 path) and K = 172 (the scalar path: down_proj)
        for (const [name, shape] of [
          ['model.layers.0.mlp.gate_proj.weight', [172, 64]],
          ['model.layers.0.mlp.down_proj.weight', [64, 172]],
        ] as const) {
          const W = roundToHalf(await m.checkpoint.readF32(name), format);
          const K = shape[1];
          const x = ref.cpu(
            Float32Array.from({ length: 37 * K }, (_, i) => Math.sin(i * 0.37)),
            [37, K],
          );
          const b = Float32Array.from({ length: shape[0] }, (_, i) => i / 100);
          const want = ref.matmul(x, ref.cpu(W, [...shape]), ref.cpu(b, [shape[0]]));
          const Wh = gpu.upload16(toHalfBits(W, format), format, shape);
          const y = await gpu.read(ops.matmul(gpu, gpu.upload(x.data, x.shape), Wh, gpu.upload(b, [shape[0]])));
          expect(relErr(y, want.data), name).toBeLessThan(TOL.f32);
        }
      } finally {
        gpu.kernelVariant = saved;
      }
    },
  );

  it('embed gathers rows of an f16 table (a vocabulary chunk) as f32', async () => {
    const gpu = await sharedGpu();
    const E = roundToHalf(
      Float32Array.from({ length: 51 * 6 }, (_, i) => Math.cos(i) * 3),
      'f16',
    );
    const ids = Uint32Array.of(3, 50, 0, 17, 99);
    const y = gpu.upload(new Float32Array(ids.length * 6), [ids.length, 6]);
    ops.embed(
      gpu,
      gpu.upload16(toHalfBits(E.subarray(0, 24 * 6), 'f16'), 'f16', [24, 6]),
      gpu.upload(ids, [5], 'ids'),
      y,
      0,
    );
    ops.embed(
      gpu,
      gpu.upload16(toHalfBits(E.subarray(24 * 6), 'f16'), 'f16', [27, 6]),
      gpu.upload(ids, [5], 'ids'),
      y,
      24,
    );
    const got = await gpu.read(y);
    const want = new Float32Array(ids.length * 6);
    ids.forEach((id, t) => id < 51 && want.set(E.subarray(id * 6, id * 6 + 6), t * 6));
    expect(got).toEqual(want);
    expect(fromHalfBits(toHalfBits(E, 'f16'), 'f16')).toEqual(E);
  });
});
