// What the benchmark's files share: their flags, and running one section on its own (`npx tsx bench/<section>.ts`).
import { writeFileSync } from 'node:fs';
import { Gpu } from '../src/gpu/gpu.ts';

/** --name VALUE from the command line, or the default. */
export const arg = (name: string, d?: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : d;
};

/** A section run alone when its file is the script: on its own device, its figures to --json FILE when asked. */
export async function runAlone(
  file: string,
  section: (gpu: Gpu, results: Record<string, unknown>) => Promise<void>,
): Promise<void> {
  if (!process.argv[1]?.endsWith(file)) return;
  const gpu = await Gpu.create();
  console.log(`adapter: ${gpu.info.description}${gpu.info.software ? ' (software)' : ''}`);
  const results: Record<string, unknown> = {};
  await section(gpu, results);
  const json = arg('json');
  if (json) writeFileSync(json, JSON.stringify(results, null, 2));
  gpu.destroy();
}
