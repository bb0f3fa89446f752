// Before a download: the probe reads config.json and the safetensors headers only, and names any tensor a device's
// limits cannot bind, with the limit and the shortfall. And IndexedDB's quota error becomes CacheFullError, which a
// run turns into a warning.
import { describe, expect, it } from 'vitest';
import type { UseStore } from 'idb-keyval';
import { probeModel } from '../../src/pipeline/probe.ts';
import { idbCache } from '../../src/pipeline/idbCache.ts';
import { CacheFullError, tolerantCache } from '../../src/pipeline/cache.ts';
import { folderSource } from '../../src/model/source.node.ts';
import type { ModelSource } from '../../src/model/source.ts';
import { MODELS } from '../helpers.ts';

/** a source that records every byte range read */
function recording(source: ModelSource, reads: string[]): ModelSource {
  return {
    id: source.id,
    async open(file) {
      const s = await source.open(file);
      return s && { size: s.size, read: (b, e) => (reads.push(`${file} ${b}-${e}`), s.read(b, e)) };
    },
  };
}

describe('model probe', () => {
  it('opt-tiny-bpe: parameters, download size and fit, from the headers alone', async () => {
    const reads: string[] = [];
    const p = await probeModel(recording(folderSource(MODELS.optTinyBpe), reads), {
      maxStorageBufferBindingSize: 2 ** 30,
      maxBufferSize: 2 ** 30,
    });
    expect(p.parameters).toBeGreaterThan(7e6);
    expect(p.downloadBytes).toBeGreaterThan(14e6);
    expect(p.dtypes).toEqual(['F16']);
    expect(p.problems).toEqual([]);
    // the vocabulary is bound in row chunks: the largest whole binding is the learned positions (514 × 128)
    expect(p.largest.name).toBe('model.decoder.embed_positions.weight');
    expect(p.vocabChunks).toBe(1);
    // a few KiB of header, not the 14 MB of tensors
    const bytes = reads
      .filter((r) => r.startsWith('model.safetensors'))
      .reduce((n, r) => n + Number(r.split(/[ -]/)[2]) - Number(r.split(/[ -]/)[1]), 0);
    expect(bytes).toBeLessThan(64 * 1024);
  });

  it('names the tensor that does not fit a small binding limit, the limit and by how much; the vocabulary splits', async () => {
    const p = await probeModel(folderSource(MODELS.optTinyBpe), {
      maxStorageBufferBindingSize: 128 * 2 ** 10,
      maxBufferSize: 2 ** 30,
    });
    // the learned positions (257 KiB), and fc1 and fc2 of each of the 4 blocks: 512 × 128 f32 = 256 KiB
    expect(p.problems).toHaveLength(9);
    expect(p.problems.find((x) => x.includes('layers.0.fc1'))).toMatch(
      /model\.decoder\.layers\.0\.fc1\.weight needs 256\.0 KiB in one binding as f32; this device allows 128\.0 KiB \(maxStorageBufferBindingSize\), 128\.0 KiB short/,
    );
    expect(p.problems.join()).not.toMatch(/embed_tokens/);
    // F16 storage: 512 rows of 128 halves per 128 KiB
    expect(p.vocabChunks).toBe(Math.ceil(50272 / 512));
  });
});

describe('IndexedDB quota', () => {
  it("a QuotaExceededError from IndexedDB becomes CacheFullError, and a run's cache turns it into one warning", async () => {
    const full: UseStore = async (mode) => {
      if (mode === 'readwrite') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      throw new Error('not used');
    };
    const cache = idbCache(full);
    await expect(cache.set('k', new Float32Array(1024), { model: 'm', kind: 'block' })).rejects.toThrow(CacheFullError);
    await expect(cache.set('k', new Float32Array(1024), { model: 'm', kind: 'block' })).rejects.toThrow(
      /storage for the lab is full \(4\.0 KiB more were needed\)/,
    );
    const warnings: string[] = [];
    const tolerant = tolerantCache(cache, (w) => warnings.push(w));
    await tolerant.set('a', 1, { model: 'm', kind: 'calib' });
    await tolerant.set('b', 2, { model: 'm', kind: 'calib' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/full.*goes on without caching.*Storage panel/);
  });
});
