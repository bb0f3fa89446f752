// Node-only folder sink: export writes each file to disk as it is produced (a tensor at a time, never whole in memory).
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderSink } from './safetensorsWriter.ts';

export async function folderSink(dir: string): Promise<FolderSink> {
  await mkdir(dir, { recursive: true });
  return {
    async file(name) {
      const fh = await open(join(dir, name), 'w');
      return {
        async write(chunk) {
          await fh.write(chunk);
        },
        close: () => fh.close(),
      };
    },
  };
}
