// Every way a model arrives gives the same numbers: a folder, a Hub repo (through @huggingface/hub, against a local
// server answering the Hub's paths), a plain URL, a sharded checkpoint and a BF16 copy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { referenceBackend } from '../../src/gpu/backend.ts';
import { Decoder } from '../../src/model/forward.ts';
import { loadModel } from '../../src/model/load.ts';
import { hubSource, parseHubId, urlSource, withProgress, type ModelSource } from '../../src/model/source.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { WeightStore } from '../../src/model/weights.ts';
import { toF32, f16ToF32 } from '../../src/model/safetensors.ts';
import { MissingFileError } from '../../src/errors.ts';
import { MODELS } from '../helpers.ts';
import { readSafetensors, startLocalHub, writeSafetensors, type LocalHub } from '../fixtures.ts';

const PROMPT = 'Once upon a time, there was a little dog. The dog liked to run in the park with his friend.';
let hub: LocalHub;
const tmp: string[] = [];

/** NLL of a short prompt on the reference backend: enough to show two sources hold the same weights. */
async function promptNll(source: ModelSource): Promise<Float32Array> {
  const m = await loadModel(source);
  const be = referenceBackend();
  const w = new WeightStore(be, m.config, m.checkpoint);
  w.validate();
  return new Decoder(be, m.config, w).windowNll(m.tokenizer.encode(PROMPT));
}

function copyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantlab-src-'));
  tmp.push(dir);
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json'])
    copyFileSync(join(MODELS.stories260K, f), join(dir, f));
  return dir;
}

let expected: Float32Array;
beforeAll(async () => {
  hub = await startLocalHub({ 'karpathy/stories260K': MODELS.stories260K, 'facebook/opt-tiny': MODELS.optTiny });
  expected = await promptNll(folderSource(MODELS.stories260K));
});
afterAll(async () => {
  await hub.close();
  tmp.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('model sources', () => {
  it('a Hub repo id through @huggingface/hub, tensors fetched by byte range, with progress', async () => {
    let loaded = 0;
    const src = withProgress(hubSource('karpathy/stories260K', 'main', hub.url), (n) => (loaded = n));
    expect(Array.from(await promptNll(src))).toEqual(Array.from(expected));
    // lazy: the 1 MB safetensors file is read in ranges (header, then tensors), never fetched whole
    expect(hub.requests.some((r) => r.startsWith('bytes=') && r.includes('model.safetensors'))).toBe(true);
    expect(hub.requests.filter((r) => r.startsWith(' ') && r.includes('model.safetensors'))).toEqual([]);
    expect(loaded).toBeGreaterThan(1_000_000);
  });

  it('a missing repo file is a clear error, a missing optional file is null', async () => {
    const src = hubSource('facebook/opt-tiny', 'main', hub.url);
    expect(await src.open('model.safetensors.index.json')).toBeNull();
    await expect(loadModel(hubSource('karpathy/nothing', 'main', hub.url))).rejects.toThrow();
  });

  it('a base URL', async () => {
    const src = urlSource(`${hub.url}/karpathy/stories260K/resolve/main/`);
    expect(Array.from(await promptNll(src))).toEqual(Array.from(expected));
  });

  it('parses Hub ids with revisions', () => {
    expect(parseHubId('facebook/opt-125m')).toEqual({ repo: 'facebook/opt-125m', revision: 'main' });
    expect(parseHubId('TinyLlama/TinyLlama-1.1B-Chat-v1.0@v1.0')).toEqual({
      repo: 'TinyLlama/TinyLlama-1.1B-Chat-v1.0',
      revision: 'v1.0',
    });
    expect(parseHubId('../shared/models/x')).toBeNull();
  });

  it('a sharded checkpoint (model.safetensors.index.json)', async () => {
    const dir = copyDir();
    const all = Object.entries(readSafetensors(join(MODELS.stories260K, 'model.safetensors')));
    const half = Math.floor(all.length / 2);
    const shards = [all.slice(0, half), all.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((s, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeFileSync(join(dir, file), writeSafetensors(Object.fromEntries(s)));
      for (const [name] of s) weightMap[name] = file;
    });
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expect(Array.from(await promptNll(folderSource(dir)))).toEqual(Array.from(expected));
  });

  it('a shard named in the index but absent', async () => {
    const dir = copyDir();
    writeFileSync(
      join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00009.safetensors' } }),
    );
    await expect(promptNll(folderSource(dir))).rejects.toThrow(/shard model-00009.safetensors .* is missing/);
  });

  it('a BF16 checkpoint evaluates within BF16 rounding of the F32 one', async () => {
    const dir = copyDir();
    const tensors = readSafetensors(join(MODELS.stories260K, 'model.safetensors'));
    for (const t of Object.values(tensors)) {
      const f = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.length));
      const u32 = new Uint32Array(f.buffer);
      // round to nearest even, as torch's .to(bfloat16)
      const bf = Uint16Array.from(u32, (u) => (u + 0x7fff + ((u >> 16) & 1)) >>> 16);
      t.dtype = 'BF16';
      t.data = new Uint8Array(bf.buffer);
    }
    writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(tensors));
    const nll = await promptNll(folderSource(dir));
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(Math.abs(mean(nll) / mean(expected) - 1)).toBeLessThan(0.02);
  });

  it('converts F16 and BF16 exactly', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(Array.from(toF32(new Uint16Array([0x3f80, 0xc040]).buffer, 'BF16'))).toEqual([1, -3]);
  });

  it('a folder without config.json says what it expected', async () => {
    await expect(loadModel(folderSource(tmpdir()))).rejects.toThrow(MissingFileError);
  });
});
