// The GPTQ v1 packing against examples packed by hand from AutoGPTQ's pack loop (qlinear_cuda_old.py): LSB first,
// 3-bit codes 10 and 21 of every 32 straddling words, zero points stored minus one; and the settings the loaders
// read, with what the lab refuses by name.
import { describe, expect, it } from 'vitest';
import {
  dequantizeGptq,
  packQweight,
  packQzeros,
  unpackQweight,
  unpackQzeros,
  zeroPointsV1CannotStore,
} from '../../src/model/gptqPacking.ts';
import { parseGptqConfig } from '../../src/model/gptqCheckpoint.ts';

/** codes [N, K] with column n's codes given (N = 1 unless more are passed) */
const layer = (...cols: number[][]) => {
  const N = cols.length;
  const K = cols[0].length;
  const codes = new Uint8Array(N * K);
  cols.forEach((c, n) => codes.set(c, n * K));
  return { codes, N, K };
};

describe('GPTQ v1 packing', () => {
  it('4 bits: eight codes per word, the first in the lowest nibble', () => {
    const { codes, N, K } = layer([1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...packQweight(codes, N, K, 4)]).toEqual([0x87654321]);
  });
  it('2 bits: sixteen codes per word', () => {
    const c = new Array(16).fill(0);
    c[0] = 3;
    c[15] = 1;
    expect([...packQweight(layer(c).codes, 1, 16, 2)]).toEqual([0x40000003]);
  });
  it('8 bits: four codes per word', () => {
    expect([...packQweight(layer([0x11, 0x22, 0x33, 0x44]).codes, 1, 4, 8)]).toEqual([0x44332211]);
  });
  it('3 bits: 32 codes in 3 words, codes 10 and 21 straddling', () => {
    const c = new Array(32).fill(0);
    c[10] = 7; // bits 30–31 of word 0, bit 0 of word 1
    c[20] = 5; // bits 28–30 of word 1
    c[21] = 7; // bit 31 of word 1, bits 0–1 of word 2
    c[31] = 6; // bits 29–31 of word 2
    expect([...packQweight(layer(c).codes, 1, 32, 3)]).toEqual([0xc0000000, 0xd0000001, 0xc0000003]);
  });
  it('columns interleave: word w of output n is qweight[w·N + n]', () => {
    const { codes, N, K } = layer(
      [1, 1, 1, 1, 1, 1, 1, 1, 2, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0, 0],
    );
    expect([...packQweight(codes, N, K, 4)]).toEqual([0x11111111, 0xf0000000, 2, 0]);
  });
  it('qzeros store zero − 1 along the output dimension; a zero point of 0 is the one v1 cannot store', () => {
    const zeros = [8, 1, 3, 0, 15, 2, 2, 2];
    const q = packQzeros(zeros, 1, 8, 4);
    expect([...q]).toEqual([0x111ef207]); // stored 7, 0, 2, 15 (−1), 14, 1, 1, 1
    expect([...unpackQzeros(q, 1, 8, 4)]).toEqual([8, 1, 3, 16, 15, 2, 2, 2]);
    expect(zeroPointsV1CannotStore(zeros)).toBe(1);
  });
  it.each([2, 3, 4, 8])(
    '%i bits: pack then unpack is the identity, and the dequantization is scale·(q − zero)',
    (bits) => {
      const N = 64;
      const K = 96;
      const G = 3;
      let s = 7;
      const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
      const codes = Uint8Array.from({ length: N * K }, () => Math.floor(rnd() * 2 ** bits));
      const zeros = Uint16Array.from({ length: G * N }, () => 1 + Math.floor(rnd() * (2 ** bits - 1)));
      const scales = Float32Array.from({ length: G * N }, () => 0.001 + rnd() / 64);
      const gIdx = Uint32Array.from({ length: K }, (_, k) => (k * 7) % G);
      const qweight = packQweight(codes, N, K, bits);
      expect(qweight.length).toBe(((K * bits) / 32) * N);
      expect(unpackQweight(qweight, N, K, bits)).toEqual(codes);
      const qzeros = packQzeros(zeros, G, N, bits);
      expect(qzeros.length).toBe(G * ((N * bits) / 32));
      expect(unpackQzeros(qzeros, G, N, bits)).toEqual(zeros);
      const W = dequantizeGptq({ qweight, qzeros, scales, gIdx }, N, K, bits);
      for (const [n, k] of [
        [0, 0],
        [5, 17],
        [63, 95],
      ])
        expect(W[n * K + k]).toBe(Math.fround(scales[gIdx[k] * N + n] * (codes[n * K + k] - zeros[gIdx[k] * N + n])));
    },
  );
});

describe('GPTQ settings (quantization_config / quantize_config.json)', () => {
  const where = 'config.json quantization_config';
  it('reads what the loaders read', () => {
    expect(
      parseGptqConfig(
        { bits: 4, group_size: 128, desc_act: false, sym: true, quant_method: 'gptq', checkpoint_format: 'gptq' },
        where,
      ),
    ).toEqual({ bits: 4, groupSize: 128, descAct: false, sym: true });
    // older AutoGPTQ files: no quant_method, no checkpoint_format, group_size −1
    expect(parseGptqConfig({ bits: 3, group_size: -1, desc_act: true, sym: false }, where)).toEqual({
      bits: 3,
      groupSize: -1,
      descAct: true,
      sym: false,
    });
  });
  it.each([
    [
      { bits: 4, checkpoint_format: 'marlin' },
      'checkpoint_format "marlin" is not supported (marlin repacks the codes in the Marlin kernel\'s tiles)',
    ],
    [{ bits: 4, pack_dtype: 'int16' }, 'pack_dtype "int16" is not supported; the lab reads codes packed in int32'],
    [{ bits: 4, quant_method: 'awq' }, 'quant_method "awq" is not supported; the lab reads GPTQ checkpoints'],
    [{ bits: 6 }, 'bits 6 is not supported; GPTQ checkpoints pack 2, 3, 4, 8 bits'],
    [{ bits: 4, group_size: 0 }, 'group_size 0 must be a positive integer or −1'],
  ])('refuses %j by name', (q, msg) => {
    expect(() => parseGptqConfig(q, where)).toThrow(msg);
  });
});
