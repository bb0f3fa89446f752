// `npm run quantlab -- <model> [flags]`: the lab's pipeline from the command line, on Dawn (WebGPU for Node).
import { METHODS } from '../quant/index.ts';
import '../gpu/node.ts';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFile } from 'node:fs/promises';
import { LabError, OptionsError } from '../errors.ts';
import { describeSpec, type ExperimentSpec, type ModelRef } from '../pipeline/experimentSpec.ts';
import { decodeShareLink } from '../pipeline/shareLink.ts';
import { folderReader, localFileReader, urlReader } from '../eval/datasets.node.ts';
import { hubSource, parseHubId, urlSource, HUB_URL, type ModelSource } from '../model/source.ts';
import { folderSource } from '../model/source.node.ts';
import { runExperiment } from '../pipeline/experiment.ts';
import { exportRun, possibleFormats, recipeRefusal } from '../pipeline/export.ts';
import { BUNDLE_FILE, importBundle } from '../pipeline/bundle.ts';
import { memoryCache } from '../pipeline/cache.ts';
import { loadModel } from '../model/load.ts';
import { folderSink } from '../model/sink.node.ts';
import { stepOf, transformReport, weightReport, type Continuation, type EvalResult } from '../pipeline/types.ts';
import { recipeLabel } from '../quant/recipe.ts';
import { allBaselines } from '../quant/baselines.ts';
import { meanBits } from '../pipeline/bits.ts';
import { describeChain, parseArgs, type CliOptions } from './args.ts';

export function resolveSource(opts: Pick<CliOptions, 'model' | 'revision' | 'hubUrl'>): ModelSource {
  const m = opts.model;
  if (/^https?:\/\//.test(m)) return urlSource(m);
  if (existsSync(m) && statSync(m).isDirectory()) return folderSource(m);
  const hub = parseHubId(m);
  if (hub) return hubSource(hub.repo, opts.revision !== 'main' ? opts.revision : hub.revision, opts.hubUrl ?? HUB_URL);
  throw new LabError(`"${m}" is neither a folder, a URL nor a Hub id (org/name)`);
}

function printResult(result: EvalResult): void {
  const r = result.config.recipe;
  const c = result.checkpoint;
  const packed = c
    ? `; a GPTQ checkpoint: W${c.bits}${c.groupSize > 0 ? ` g${c.groupSize}` : ''}` +
      `${c.descAct ? ' act-order' : ''}${c.sym ? ' sym' : ''}, dequantized on the GPU per block`
    : '';
  console.log(
    `\n${result.model} (${result.modelType}, ${(result.parameters / 1e6).toFixed(2)}M ` +
      `params${packed}) ${r ? recipeLabel(r) : 'FP'} seqlen ${result.config.seqlen} ` +
      `on ${result.device?.description ?? 'the CPU reference'}`,
  );
  if (result.quant && r) {
    const q = result.quant;
    console.log(
      `steps: ${describeChain(r)}; calibration: ${r.calib}, ${r.nsamples} × ${r.seqlen} tokens, seed ${r.seed}`,
    );
    console.log('| block | layer | rel. output error | bits | ms |\n|---|---|---|---|---|');
    const side = (l: (typeof q.layers)[number]) =>
      l.groups > 0
        ? `${l.groups} scale/zero per row`
        : l.bits > l.codeBits
          ? 'codebooks, reserved values'
          : 'nothing else';
    for (const l of q.layers)
      console.log(
        `| ${l.layer} | ${l.linear} | ${l.relError.toFixed(5)} | ${l.bits.toFixed(2)} ` +
          `(${+l.codeBits.toFixed(3)} + ${(l.bits - l.codeBits).toFixed(2)}: ${side(l)}) | ${l.ms.toFixed(0)} |`,
      );
    if (q.layers.length) {
      const blocks = [...new Set(q.layers.map((l) => l.layer))].map((b) =>
        meanBits(q.layers.filter((l) => l.layer === b)).toFixed(3),
      );
      console.log(
        `bits per weight: model ${meanBits(q.layers).toFixed(4)} ` +
          `(codes ${meanBits(q.layers, (l) => l.codeBits).toFixed(4)}); blocks ${blocks.join(', ')}`,
      );
    }
    const w = weightReport(q);
    const t = transformReport<unknown>(q);
    const parts = [
      w &&
        `Hessians ${(w.hessianMs / 1000).toFixed(1)} s, factorization ${(w.factorMs / 1000).toFixed(1)} s, ` +
          `column loop ${(w.loopMs / 1000).toFixed(1)} s`,
      t && `${stepOf(q, 'transform')!.method} ${(t.ms / 1000).toFixed(1)} s`,
    ].filter(Boolean);
    console.log(`quantization ${(q.totalMs / 1000).toFixed(1)} s${parts.length ? ` (${parts.join(', ')})` : ''}`);
    if (w?.factorization) console.log(w.factorization);
    const tm = METHODS[stepOf(q, 'transform')?.method ?? ''];
    if (t && tm?.kind === 'transform' && tm.summarize) console.log(`\n${tm.summarize(t.blocks)}`);
  }
  const rows = Object.entries(result.ppl).map(([ds, v]) => {
    const fp = result.pplBefore?.[ds];
    return (
      `| ${ds.padEnd(16)} | ${String(result.windows[ds]).padStart(7)} ` +
      `| ${fp !== undefined ? fp.toFixed(4).padStart(10) + ' | ' : ''}${v.toFixed(4).padStart(10)} |`
    );
  });
  const head = result.pplBefore
    ? '| dataset          | windows |    FP ppl  |  quant ppl |\n|---|---|---|---|'
    : '| dataset          | windows | perplexity |\n|---|---|---|';
  console.log(`${head}\n${rows.join('\n')}`);
  if (result.tasks) console.log(taskTable(result));
  for (const b of result.baselines ?? [])
    console.log(
      `baseline ${b.label}: ${Object.entries(b.ppl)
        .map(([ds, v]) => `${ds} ${v.toFixed(4)}`)
        .join(', ')}`,
    );
  for (const b of result.baselines ?? []) {
    for (const t of Object.values(b.tasks ?? {}))
      console.log(
        `baseline ${b.label}: ${t.task} ` +
          `acc ${t.acc.toFixed(4)}${t.accNorm !== undefined ? ` acc_norm ${t.accNorm.toFixed(4)}` : ''}`,
      );
  }
  if (result.generation) console.log(generationText(result));
  for (const c of result.caveats ?? []) console.log(`warning: ${c}`);
  console.log(
    `peak GPU memory in use ${(result.peakGpuBytes / 2 ** 20).toFixed(1)} MiB ` +
      `(weights stored as ${result.config.weights ?? 'f32'})`,
  );
  const g = result.gpuLayers;
  if (g) {
    const mib = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
    console.log(
      `decoder layers on the GPU: ${mib(g.loadedBytes)} as loaded, ${mib(g.quantizedBytes)} quantized ` +
        `(${(g.quantizedBytes / g.loadedBytes).toFixed(3)}×` +
        `${g.predictedBytes !== undefined ? `; predicted ${mib(g.predictedBytes)}` : ''})` +
        `${result.quant?.unpacked?.length ? `; kept dense: ${result.quant.unpacked.join('; ')}` : ''}`,
    );
  }
}

/** Both continuations of the prompt, one after the other, and where they part. */
export function generationText(result: EvalResult): string {
  const g = result.generation!;
  const how =
    g.temperature === 0
      ? 'greedy'
      : `temperature ${g.temperature}, top-k ${g.topK || 'off'}, top-p ${g.topP}, seed ${g.seed}`;
  const penalty = g.repetitionPenalty !== 1 ? `, repetition penalty ${g.repetitionPenalty}` : '';
  const lines = [
    `generation (${how}${penalty}; ${g.maxNewTokens} new tokens at most), prompt: ${JSON.stringify(g.prompt)}`,
  ];
  const label = result.config.recipe ? recipeLabel(result.config.recipe) : 'FP';
  for (const [name, c] of [
    ['FP', g.fp],
    [label, g.quant],
  ] as const) {
    if (!c) continue;
    const mean = (v: number[]) => (v.reduce((a, b) => a + b, 0) / Math.max(1, v.length)).toFixed(3);
    const meanLp = mean(c.logProbs);
    const other = c.otherLogProbs ? `, under the other model ${mean(c.otherLogProbs)}` : '';
    lines.push(
      `--- ${name}: ${c.ids.length} tokens (${c.stop === 'eos' ? 'stopped at EOS' : 'length'}), ` +
        `${c.tokensPerSecond.toFixed(1)} tokens/s, mean log p ${meanLp}${other}`,
      `${g.prompt}${c.text}`,
    );
  }
  if (g.fp && g.quant)
    lines.push(
      g.divergeAt === undefined
        ? '--- the two continuations are the same'
        : `--- they part at new token ${g.divergeAt + 1}: FP wrote ${tokenAt(g.fp, g.divergeAt)}, ` +
            `${label} ${tokenAt(g.quant, g.divergeAt)}`,
    );
  return lines.join('\n');
}

function tokenAt(c: Continuation, i: number): string {
  if (i >= c.ids.length) return 'nothing more';
  const lp = c.otherLogProbs
    ? `, log p ${c.logProbs[i].toFixed(2)} vs ${c.otherLogProbs[i].toFixed(2)} for the other`
    : '';
  return `${JSON.stringify(c.tokenTexts[i])} (id ${c.ids[i]}${lp})`;
}

/** lm-eval's table, one row per task and metric, with FP and quantized side by side when a method ran. */
export function taskTable(result: EvalResult): string {
  const before = result.tasksBefore;
  const cell = (v: number | undefined, se?: number | null) =>
    v === undefined ? '' : `${v.toFixed(4)}${se != null ? ` ± ${se.toFixed(4)}` : ''}`;
  // lm-eval's header line, then its columns (n-shot included) with the items scored
  const label = result.config.recipe ? recipeLabel(result.config.recipe) : 'value';
  const lines = [
    `zero-shot (lm-evaluation-harness protocol), limit: ${result.config.limit ?? 'None'}, num_fewshot: 0`,
    before
      ? `| task | n-shot | items | metric | FP | ${label} | Δ | s |\n|---|---|---|---|---|---|---|---|`
      : '| task | n-shot | items | metric | value | s |\n|---|---|---|---|---|---|',
  ];
  for (const t of Object.values(result.tasks ?? {})) {
    const b = before?.[t.task];
    const metrics: [
      string,
      number | undefined,
      number | null | undefined,
      number | undefined,
      number | null | undefined,
    ][] = [
      ['acc', t.acc, t.accStderr, b?.acc, b?.accStderr],
      ['acc_norm', t.accNorm, t.accNormStderr, b?.accNorm, b?.accNormStderr],
      ['perplexity', t.perplexity, null, b?.perplexity, null],
    ];
    for (const [name, v, se, fp, fpSe] of metrics) {
      if (v === undefined) continue;
      const seconds = t.seconds.toFixed(1);
      lines.push(
        before
          ? `| ${t.task} | 0 | ${t.items} | ${name} | ${cell(fp, fpSe)} | ${cell(v, se)} ` +
              `| ${fp !== undefined ? (v - fp >= 0 ? '+' : '') + (v - fp).toFixed(4) : ''} | ${seconds} |`
          : `| ${t.task} | 0 | ${t.items} | ${name} | ${cell(v, se)} | ${seconds} |`,
      );
    }
  }
  if (result.config.limit)
    lines.push(`(first ${result.config.limit} items of each task: --limit ${result.config.limit})`);
  return lines.join('\n');
}

/** The bundled fixtures: ../shared/models next to the project. */
const SHARED_MODELS = resolve(fileURLToPath(new URL('../../../shared/models/', import.meta.url)));

/** What the CLI's model argument is, as the page would name it (a fixture folder is the bundled model). */
export function modelRefOf(model: string): ModelRef {
  if (/^https?:\/\//.test(model)) return { kind: 'url', url: model };
  if (existsSync(model) && statSync(model).isDirectory()) {
    const abs = resolve(model);
    return dirname(abs) === SHARED_MODELS ? { kind: 'bundled', id: basename(abs) } : { kind: 'local', label: model };
  }
  const hub = parseHubId(model);
  return hub ? { kind: 'hub', repo: hub.repo, revision: hub.revision } : { kind: 'local', label: model };
}

/** A model named by a link, as a CLI model argument. */
function cliModel(ref: ModelRef): string {
  switch (ref.kind) {
    case 'bundled':
      return join(SHARED_MODELS, ref.id);
    case 'hub':
      return `${ref.repo}@${ref.revision}`;
    case 'url':
      return ref.url;
    case 'local':
      throw new OptionsError(
        `the link's model is local files ("${ref.label}") that only its author has; ` +
          'give the folder as the model argument',
      );
  }
}

/** --from-link: the link's experiment replaces the model (unless one is given) and every experiment option. */
export function applyLink(opts: CliOptions, spec: ExperimentSpec | undefined): CliOptions {
  if (!spec) return opts;
  return {
    ...opts,
    model: opts.model || cliModel(spec.model),
    recipe: spec.recipe,
    evalPpl: spec.eval.datasets,
    seqlen: spec.eval.seqlen,
    evalWindows: spec.eval.windows ?? undefined,
    tasks: spec.eval.tasks ?? [],
    limit: spec.eval.limit ?? undefined,
  };
}

/** The experiment a command line runs; with a link and no model argument, the link's own model. */
export function cliSpec(opts: CliOptions, linkModel?: ModelRef): ExperimentSpec {
  return {
    model: linkModel ?? modelRefOf(opts.model),
    recipe: opts.recipe,
    eval: {
      datasets: opts.evalPpl,
      seqlen: opts.seqlen,
      windows: opts.evalWindows ?? null,
      ...(opts.tasks.length ? { tasks: opts.tasks, limit: opts.limit ?? null } : {}),
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const parsed = parseArgs(argv);
  const payload = parsed.fromLink ? await decodeShareLink(parsed.fromLink) : undefined;
  const link = payload?.spec;
  const opts = applyLink(parsed, link);
  // the link's prompt and settings, unless --generate gives others
  if (payload?.generate && !opts.generate) opts.generate = payload.generate;
  if (opts.generate) console.log(`generate: ${JSON.stringify(opts.generate.prompt)}`);
  console.log(`experiment: ${describeSpec(cliSpec(opts, parsed.model ? undefined : link?.model))}`);
  if (opts.recipe.steps.length) console.log(`steps: ${describeChain(opts.recipe)}`);
  if (opts.dryRun) return 0;
  const source = resolveSource(opts);
  if (opts.save) {
    // refused before the run, not after it
    const cfg = (await loadModel(source)).config;
    const refusal = recipeRefusal(opts.saveFormat, opts.recipe, cfg);
    if (refusal) {
      const other = possibleFormats(opts.recipe, cfg).map((f) => `--save_format ${f}`);
      const alternatives = other.length ? ` (this run can be saved with ${other.join(' or ')})` : '';
      throw new OptionsError(`--save_format ${opts.saveFormat}: ${refusal}${alternatives}`);
    }
  }
  // the finished blocks export reads
  const cache = opts.save ? memoryCache() : undefined;
  const readText =
    opts.dataDir && /^https?:\/\//.test(opts.dataDir) ? urlReader(opts.dataDir) : folderReader(opts.dataDir);
  let lastLine = '';
  const result = await runExperiment(
    {
      datasets: opts.evalPpl,
      recipe: opts.recipe,
      seqlen: opts.seqlen,
      windows: opts.evalWindows,
      backend: opts.backend,
      checkFinite: opts.checkFinite,
      maxResidentBytes: opts.residentMb !== undefined ? opts.residentMb * 2 ** 20 : undefined,
      baselines: opts.baselines ? allBaselines(opts.recipe) : undefined,
      tasks: opts.tasks,
      limit: opts.limit,
      weights: opts.weights,
      ...(opts.generate ? { generate: opts.generate } : {}),
    },
    {
      source,
      readText,
      cache,
      readFile: localFileReader(),
      onProgress: (p) => {
        const line = `[${p.stage}] ${p.label}`;
        if (line !== lastLine && (p.stage !== 'load' || p.fraction === 1)) process.stderr.write(`${line}\n`);
        lastLine = line;
      },
    },
  );
  printResult(result);
  console.log(
    `load ${(result.timings.loadMs / 1000).toFixed(1)} s, ${result.timings.tokensPerSecond.toFixed(0)} tokens/s`,
  );
  if (opts.json) await writeFile(opts.json, JSON.stringify(result, null, 2));
  if (opts.save) {
    const report = await exportRun(opts.saveFormat, result, {
      source,
      cache: cache!,
      sink: await folderSink(opts.save),
    });
    const written = report.files.map((f) => `${f.name} ${(f.bytes / 2 ** 20).toFixed(2)} MiB`).join(', ');
    console.log(`saved (${opts.saveFormat}) to ${opts.save}: ${written}`);
    for (const n of report.notes) console.log(`  note: ${n}`);
  }
  return 0;
}

/**
 * `quantlab import DIR`: a bundle's run printed as it was, or any other folder (a GPTQ checkpoint) evaluated as a
 * model.
 */
export async function importCommand(argv: string[]): Promise<number> {
  const dir = argv.find((a) => !a.startsWith('--'));
  if (!dir) throw new OptionsError('usage: npm run quantlab -- import DIR [flags]');
  if (existsSync(join(dir, BUNDLE_FILE))) {
    const result = await importBundle(folderSource(dir), memoryCache());
    console.log(`bundle: ${result.model}, ${result.config.steps ?? 'fp'}`);
    printResult(result);
    return 0;
  }
  return main(argv);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)) {
  // exit codes: 0 done, 2 a LabError (bad input, explained), 1 anything else. The run destroys its GPU device, so
  // the process ends on its own once the event loop drains.
  const argv = process.argv.slice(2);
  (argv[0] === 'import' ? importCommand(argv.slice(1)) : main(argv)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      console.error(e instanceof LabError ? `error: ${e.message}` : e);
      process.exitCode = e instanceof LabError ? 2 : 1;
    },
  );
}
