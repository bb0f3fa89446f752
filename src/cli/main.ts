// `npm run quantlab -- <model> [flags]`: the lab's pipeline from the command line, on Dawn (WebGPU for Node).
import '../gpu/node.ts';
import { existsSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { LabError } from '../errors.ts';
import { folderReader, urlReader } from '../eval/datasets.node.ts';
import { hubSource, parseHubId, urlSource, HUB_URL, type ModelSource } from '../model/source.ts';
import { folderSource } from '../model/source.node.ts';
import { evaluateModel } from '../pipeline/evaluate.ts';
import { parseArgs, type CliOptions } from './args.ts';

export function resolveSource(opts: Pick<CliOptions, 'model' | 'revision' | 'hubUrl'>): ModelSource {
  const m = opts.model;
  if (/^https?:\/\//.test(m)) return urlSource(m);
  if (existsSync(m) && statSync(m).isDirectory()) return folderSource(m);
  const hub = parseHubId(m);
  if (hub) return hubSource(hub.repo, opts.revision !== 'main' ? opts.revision : hub.revision, opts.hubUrl ?? HUB_URL);
  throw new LabError(`"${m}" is neither a folder, a URL nor a Hub id (org/name)`);
}

export async function main(argv: string[]): Promise<number> {
  const opts = parseArgs(argv);
  const source = resolveSource(opts);
  const readText = opts.dataDir && /^https?:\/\//.test(opts.dataDir) ? urlReader(opts.dataDir) : folderReader(opts.dataDir);
  let lastLine = '';
  const result = await evaluateModel(
    { datasets: opts.evalPpl, seqlen: opts.seqlen, windows: opts.evalWindows, backend: opts.backend, checkFinite: opts.checkFinite,
      maxResidentBytes: opts.residentMb !== undefined ? opts.residentMb * 2 ** 20 : undefined },
    {
      source,
      readText,
      onProgress: (p) => {
        const line = p.stage === 'load' ? `[load] ${p.label}` : `[eval] ${p.label}`;
        if (line !== lastLine && (p.stage === 'evaluate' || p.fraction === 1)) process.stderr.write(`${line}\n`);
        lastLine = line;
      },
    },
  );
  const rows = Object.entries(result.ppl).map(([ds, v]) => `| ${ds.padEnd(16)} | ${String(result.windows[ds]).padStart(7)} | ${v.toFixed(4).padStart(10)} |`);
  console.log(`\n${result.model} (${result.modelType}, ${(result.parameters / 1e6).toFixed(2)}M params) W${result.config.wbits}A${result.config.abits} seqlen ${result.config.seqlen} on ${result.device?.description ?? 'CPU reference'}`);
  console.log(`| dataset          | windows | perplexity |\n|------------------|---------|------------|\n${rows.join('\n')}`);
  console.log(`load ${(result.timings.loadMs / 1000).toFixed(1)} s, ${result.timings.tokensPerSecond.toFixed(0)} tokens/s`);
  if (opts.json) await writeFile(opts.json, JSON.stringify(result, null, 2));
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e instanceof LabError ? `error: ${e.message}` : e);
      process.exit(e instanceof LabError ? 2 : 1);
    },
  );
}
