// The streamed safetensors writer: what it writes reads back through the lab's own reader (F32, F16, I32, metadata),
// the header is padded to 8 bytes, and a producer that fails leaves no half-written file.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint } from '../../src/model/safetensors.ts';
import { writeSafetensors } from '../../src/model/safetensorsWriter.ts';
import { folderSink } from '../../src/model/sink.node.ts';
import { folderSource } from '../../src/model/source.node.ts';

const dir = mkdtempSync(join(tmpdir(), 'quantlab-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('safetensors writer', () => {
  it('writes tensors one at a time that read back as written', async () => {
    const sink = await folderSink(dir);
    await writeSafetensors(
      await sink.file('model.safetensors'),
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data: async () => Float32Array.of(1, 2, 3, 4, 5, 6) },
        { name: 'b', dtype: 'F16', shape: [2], data: async () => Uint16Array.of(0x3c00, 0xc000) },
        { name: 'c', dtype: 'I32', shape: [3], data: async () => Uint32Array.of(0, 0xffffffff, 7) },
      ],
      { format: 'pt' },
    );
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    expect(JSON.parse(bytes.subarray(8, 8 + n).toString()).__metadata__).toEqual({ format: 'pt' });
    const ckpt = await Checkpoint.open((f) => folderSource(dir).open(f));
    expect([...(await ckpt.readF32('a'))]).toEqual([1, 2, 3, 4, 5, 6]);
    expect([...(await ckpt.readF32('b'))]).toEqual([1, -2]);
    expect([...(await ckpt.readU32('c'))]).toEqual([0, 0xffffffff, 7]);
    await expect(ckpt.readF32('c')).rejects.toThrow(/I32 tensor holds integers/);
  });

  it('a producer that fails (or gives the wrong size) leaves no file behind', async () => {
    const sink = await folderSink(dir);
    await expect(
      writeSafetensors(await sink.file('bad.safetensors'), [
        { name: 'a', dtype: 'F32', shape: [4], data: async () => new Float32Array(3) },
      ]),
    ).rejects.toThrow('"a" produced 12 bytes, its header says 16');
    expect(existsSync(join(dir, 'bad.safetensors'))).toBe(false);
  });
});
