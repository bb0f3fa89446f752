// Node-only folder sink: export writes each file to disk as it is produced (a tensor at a time, never whole in memory).
import { mkdir, open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderSink } from './safetensorsWriter.ts';

export async function folderSink(dir: string): Promise<FolderSink> {
  await mkdir(dir, { recursive: true });
  return {
    async file(name) {
      const path = join(dir, name);
      const fh = await open(path, 'w');
      return {
        async write(chunk) {
          await fh.write(chunk);
        },
        close: () => fh.close(),
        // a failed export leaves no half-written file behind
        async abort() {
          await fh.close();
          await rm(path, { force: true });
        },
      };
    },
  };
}
