// Browser folder sinks for export: a folder the user picked (File System Access API; the handle can be posted to the
// worker, which writes each file as it is produced), or, where the browser has no folder picker, one download per
// file. Either way a file's bytes go out a chunk at a time: nothing here joins the model into one buffer.
import type { FileSink, FolderSink } from './safetensorsWriter.ts';

/** Writes into a directory handle: each file is created (or replaced) and streamed through createWritable. */
export function directorySink(dir: FileSystemDirectoryHandle): FolderSink {
  return {
    async file(name) {
      const handle = await dir.getFileHandle(name, { create: true });
      // keepExistingData false (the default): a file of the same name starts empty
      const stream = await handle.createWritable();
      return {
        write: (chunk) => stream.write(chunk as Uint8Array<ArrayBuffer>),
        close: () => stream.close(),
        // writes go to a swap file until close: aborting leaves the folder as it was
        abort: () => stream.abort(),
      };
    },
  };
}

/**
 * Collects each file into a Blob and hands it over when the file is closed (the page then downloads it). Every chunk
 * becomes a Blob of its own as it arrives, so the browser may keep the parts out of the JS heap (on disk when large);
 * the file's Blob only references them.
 */
export function downloadSink(onFile: (name: string, blob: Blob) => void | Promise<void>): FolderSink {
  return {
    async file(name): Promise<FileSink> {
      const parts: Blob[] = [];
      return {
        async write(chunk) {
          parts.push(new Blob([chunk as Uint8Array<ArrayBuffer>]));
        },
        async close() {
          await onFile(
            name,
            new Blob(parts, { type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream' }),
          );
        },
        async abort() {
          parts.length = 0;
        },
      };
    },
  };
}
