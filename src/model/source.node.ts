// Node-only model source: a folder on disk, read with positioned reads so a block's tensors load on their own.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSource } from './source.ts';

export function folderSource(dir: string): ModelSource {
  return {
    id: dir,
    async open(file) {
      const path = join(dir, file);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) return null;
      return {
        size: st.size,
        async read(b, e) {
          const fh = await open(path, 'r');
          try {
            const buf = Buffer.alloc(Math.max(0, e - b));
            await fh.read(buf, 0, buf.length, b);
            return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
          } finally {
            await fh.close();
          }
        },
      };
    },
  };
}
