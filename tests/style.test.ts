// The code style Prettier does not enforce: no line of the sources is longer than 120 characters (Prettier leaves long
// strings, comments and JSX text as they are). A failure names each file and line.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MAX_COLUMNS = 120;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe('code style', () => {
  it(`every line of every .ts/.tsx file under src/ is at most ${MAX_COLUMNS} characters`, () => {
    const files = sourceFiles(SRC);
    expect(files.length).toBeGreaterThan(0);
    const long: string[] = [];
    for (const file of files) {
      readFileSync(file, 'utf8')
        .split(/\r?\n/)
        .forEach((line, i) => {
          // characters (code points), not UTF-16 units or bytes: ‖, ² and → count once each
          const length = [...line].length;
          if (length > MAX_COLUMNS) long.push(`${relative(ROOT, file)}:${i + 1}: ${length} characters`);
        });
    }
    expect(long, `lines over ${MAX_COLUMNS} characters:\n${long.join('\n')}`).toEqual([]);
  });
});
