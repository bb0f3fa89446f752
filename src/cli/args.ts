// Seed-compatible flags (--wbits, --abits, --eval_ppl, --hidden_layer_num…) parsed into one options object. The
// method flags, their bounds, defaults and usage lines come from the registered methods' schemas (quant/index.ts);
// only the run's own flags (evaluation, backend, output) are listed here.
import { OptionsError } from '../errors.ts';
import { CHAINS, METHOD_LIST, METHODS, TRANSFORM_METHODS, WEIGHT_METHODS, type Method } from '../quant/index.ts';
import { optionInfos, showValue, type OptionInfo } from '../quant/options.ts';
import { calibrationOptions, chainOf, makeRecipe, validateRecipe, type QuantRecipe } from '../quant/recipe.ts';
import { checkTaskName, SEED_TASKS, ZERO_SHOT_TASKS } from '../eval/zeroShotTasks.ts';
import { WEIGHT_STORAGES, type WeightStorage } from '../model/weights.ts';
import { SAVE_FORMATS, type SaveFormat } from '../pipeline/export.ts';
import type { GenerateRequest } from '../pipeline/types.ts';
import { GREEDY, samplingError } from '../eval/sampling.ts';

export interface CliOptions {
  model: string;
  recipe: QuantRecipe;
  evalPpl: string[];
  seqlen: number;
  evalWindows?: number;
  dataDir?: string;
  json?: string;
  backend: 'webgpu' | 'reference';
  checkFinite: boolean;
  revision: string;
  hubUrl?: string;
  residentMb?: number;
  /** also run the steps' baselines (RPTQ: contiguous groups and per tensor, without reorder; CLAQ: GPTQ) */
  baselines: boolean;
  /** a share link whose experiment replaces the model and experiment flags */
  fromLink?: string;
  /** print the experiment and stop */
  dryRun: boolean;
  /** zero-shot tasks (lm-eval names) */
  tasks: string[];
  /** the first N items of each task */
  limit?: number;
  /** weight storage on the GPU */
  weights: WeightStorage;
  /** export the quantized model into this folder once the run is done */
  save?: string;
  saveFormat: SaveFormat;
  /** continue a prompt with the full-precision and the quantized model */
  generate?: GenerateRequest;
}

type Kind = 'number' | 'string' | 'list' | 'bool';

/** The run's own flags; --seqlen is also the calibration window length, as in the seed projects. */
const RUN_FLAGS: Record<string, Kind> = {
  method: 'string',
  nearest: 'bool',
  eval_ppl: 'list',
  eval_windows: 'number',
  data_dir: 'string',
  json: 'string',
  backend: 'string',
  check_finite: 'bool',
  revision: 'string',
  hub_url: 'string',
  resident_mb: 'number',
  baselines: 'bool',
  from_link: 'string',
  dry_run: 'bool',
  tasks: 'list',
  limit: 'number',
  weights: 'string',
  num_fewshot: 'number',
  save: 'string',
  save_format: 'string',
  generate: 'string',
  max_new_tokens: 'number',
  temperature: 'number',
  top_k: 'number',
  top_p: 'number',
  repetition_penalty: 'number',
  sample_seed: 'number',
};

/** generation's flags: what the text is, not what the figures are, so they also go with --from-link */
const GENERATION_FLAGS = [
  'generate',
  'max_new_tokens',
  'temperature',
  'top_k',
  'top_p',
  'repetition_penalty',
  'sample_seed',
];

const norm = (flag: string) => flag.replace(/-/g, '_');
const CALIBRATION = optionInfos(calibrationOptions);
/** flag → the methods that have it, with the option */
const METHOD_FLAGS = new Map<string, { method: Method; info: OptionInfo }[]>();
for (const m of METHOD_LIST) {
  for (const info of optionInfos(m.options))
    METHOD_FLAGS.set(norm(info.flag), [...(METHOD_FLAGS.get(norm(info.flag)) ?? []), { method: m, info }]);
}
const FLAGS: Record<string, Kind> = { ...RUN_FLAGS };
for (const o of CALIBRATION)
  FLAGS[norm(o.flag)] = o.kind === 'bool' ? 'bool' : o.kind === 'enum' || o.key === 'calib' ? 'string' : 'number';
for (const [flag, [{ info }]] of METHOD_FLAGS)
  FLAGS[flag] = info.kind === 'bool' ? 'bool' : info.kind === 'enum' ? 'string' : 'number';

/** Flags that describe the experiment: a share link carries all of them, so they cannot come with --from-link. */
const EXPERIMENT_FLAGS = new Set(
  Object.keys(FLAGS).filter(
    (f) =>
      ![
        'data_dir',
        'json',
        'backend',
        'check_finite',
        'revision',
        'hub_url',
        'resident_mb',
        'baselines',
        'from_link',
        'dry_run',
        'weights',
        'save',
        'save_format',
        ...GENERATION_FLAGS,
      ].includes(f),
  ),
);

function optionLine(o: OptionInfo): string {
  const valueHint =
    o.kind === 'enum' ? o.values!.join('|') : o.range ? o.range.replace(/, or /, '|').replace(/ /g, '') : 'N';
  const flag = `--${o.flag}${o.kind === 'bool' ? '' : ` ${valueHint}`}`;
  const def = o.default !== undefined ? ` (default ${o.default})` : o.fallback ? ` (default ${o.fallback})` : '';
  return `  ${flag.padEnd(34)}${o.description}${o.kind === 'bool' ? '' : def}`;
}

export const USAGE = [
  'usage: npm run quantlab -- <model folder | org/name[@revision] | URL> [flags]',
  `  --method ${CHAINS.join('|')}`,
  '                                    a recipe: at most one transform, ' +
    'then at most one weight step. --nearest is rtn;',
  '                                    --wbits alone implies gptq; a transform option (--abits 4, --only_quant_kv…)',
  '                                    implies that transform, then its reference weight step unless --wbits 16',
  'calibration:',
  ...CALIBRATION.map(optionLine),
  ...METHOD_LIST.flatMap((m) => [
    `${m.title} (${m.kind === 'transform' ? 'transform' : 'weight step'}): ${m.summary}`,
    ...optionInfos(m.options).map(optionLine),
  ]),
  'evaluation and running:',
  '  --eval_ppl wikitext2,ptb,c4       datasets: wikitext2 ptb ptb-new c4 tinystories tinystories-file',
  '  --eval_windows K                  score only the first K windows (--seqlen is the window length, ' +
    'capped at the model)',
  `  --tasks ${SEED_TASKS.join(',')}`,
  '                                    zero-shot tasks scored as lm-evaluation-harness ' +
    `(also ${ZERO_SHOT_TASKS.filter((t) => !SEED_TASKS.includes(t)).join(', ')})`,
  '  --limit N                         the first N items of each task (recorded with the results)',
  '  --num_fewshot 0                   zero-shot only: other values are refused',
  "  --baselines                       also run the steps' baselines (RPTQ: contiguous groups, per tensor; " +
    'DuQuant: per-token, smoothing alone; CLAQ: GPTQ at the same code bits)',
  '  --generate "PROMPT"               continue the prompt with both models, printed side by side',
  '  --max_new_tokens 64               new tokens at most (stops at EOS)',
  '  --temperature 0 --top_k 0 --top_p 1 --repetition_penalty 1 --sample_seed 0',
  '                                    sampling as transformers applies it; temperature 0 is greedy',
  '  --data_dir DIR|URL                evaluation texts (default ../shared/data)',
  '  --json FILE                       write {model, config, ppl, timings, device, quant}',
  '  --backend webgpu|reference        the WGSL kernels (default) or their TypeScript twins, forward and quantization',
  '  --weights auto|f16|f32            weight storage on the GPU: ' +
    'auto keeps an F16/BF16 checkpoint in its 16 bits and F32 in f32',
  '  --save DIR                        export the quantized model into DIR when the run is done',
  '  --save_format gptq|fake|bundle    gptq: the GPTQ checkpoint format (RTN/GPTQ at 2/3/4/8 bits; ' +
    'implies --f16_scales);',
  '                                    fake: an F16 checkpoint of the dequantized weights; bundle: ' +
    "the lab's run bundle",
  '  --check_finite                    stop at the first block that produces NaN/Inf',
  '  --resident_mb MB                  weights kept on the GPU (default 2048); beyond it blocks stream one at a time',
  '  --revision REV --hub_url URL      Hub revision and endpoint',
  '  --from-link URL                   run the experiment of a lab share link (a model argument overrides its model)',
  '  --dry_run                         print the experiment and stop',
].join('\n');

/** The chain of steps the flags ask for (seed-compatible inference when --method is not given). */
function chainFrom(
  raw: Record<string, unknown>,
  given: (flag: string) => boolean,
  num: (k: string) => number | undefined,
): Method[] {
  const wbits = num('wbits');
  const byName = (n: string): Method =>
    METHODS[n] ?? fail(`--method must be one of ${CHAINS.join(', ')} (got "${raw.method}")`);
  // the weight step a seed project's flag asks for (a capability of the method, not its name)
  const bySeedFlag = (flag: 'nearest' | 'wbits'): Method => WEIGHT_METHODS.find((m) => m.seedFlag === flag)!;
  let steps: Method[];
  if (raw.method !== undefined) {
    const names = String(raw.method) === 'fp' ? [] : String(raw.method).split('+');
    steps = names.map(byName);
    // a transform named alone runs with its reference weight step, as the seed projects do, unless --wbits 16
    if (steps.length === 1 && steps[0].kind === 'transform' && wbits !== 16) steps.push(byName(steps[0].defaultWeight));
  } else {
    const transform = TRANSFORM_METHODS.find((t) =>
      optionInfos(t.options).some(
        (o) =>
          given(o.flag) && raw[norm(o.flag)] !== undefined && String(raw[norm(o.flag)]) !== String(o.default ?? ''),
      ),
    );
    steps = transform ? [transform] : [];
    if (raw.nearest || (wbits !== undefined && wbits !== 16)) steps.push(bySeedFlag(raw.nearest ? 'nearest' : 'wbits'));
    else if (transform && wbits !== 16) steps.push(byName(transform.defaultWeight));
  }
  // --nearest makes the weight step RTN, whatever else was asked
  if (raw.nearest) steps = [...steps.filter((s) => s.kind === 'transform'), bySeedFlag('nearest')];
  if (steps.length === 0 && wbits !== undefined && wbits !== 16)
    fail('--method fp runs at 16 bits; pick --method rtn or gptq for --wbits below 16');
  return steps;
}

function fail(message: string): never {
  throw new OptionsError(message);
}

export function parseArgs(argv: string[]): CliOptions {
  const raw: Record<string, string | string[] | boolean> = {};
  let model: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      if (model) throw new OptionsError(`unexpected argument "${a}" (the model is already "${model}")`);
      model = a;
      continue;
    }
    const eq = a.indexOf('=');
    let name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    let value: string | undefined = eq > 0 ? a.slice(eq + 1) : undefined;
    name = norm(name);
    // a boolean option that is on by default is turned off as --no-name (--no-smooth, --no-rotate)
    if (!FLAGS[name] && name.startsWith('no_') && FLAGS[name.slice(3)] === 'bool' && value === undefined) {
      raw[name.slice(3)] = false;
      continue;
    }
    const kind = FLAGS[name];
    if (!kind) throw new OptionsError(`unknown flag --${name}\n${USAGE}`);
    if (kind === 'bool') {
      raw[name] = true;
      continue;
    }
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined || value.startsWith('--')) throw new OptionsError(`--${name} needs a value`);
    }
    if (kind === 'list') {
      // both "--eval_ppl a,b" and "--eval_ppl a b" (the seed projects' nargs='+')
      const items = value.split(',');
      while (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') && model !== undefined)
        items.push(...argv[++i].split(','));
      raw[name] = items.filter(Boolean);
    } else raw[name] = value;
  }
  const fromLink = raw.from_link as string | undefined;
  if (fromLink) {
    const clash = Object.keys(raw).find((k) => EXPERIMENT_FLAGS.has(k));
    if (clash) throw new OptionsError(`--from-link carries the whole experiment; drop --${clash}`);
  } else if (!model) throw new OptionsError(`no model given\n${USAGE}`);
  const num = (k: string, d?: number): number | undefined => {
    if (raw[k] === undefined) return d;
    const v = Number(raw[k]);
    if (!Number.isFinite(v)) throw new OptionsError(`--${k} must be a number (got "${raw[k]}")`);
    return v;
  };
  const given = (flag: string) => raw[norm(flag)] !== undefined;

  const chain = chainFrom(raw, given, num);
  // each flag must belong to a step that runs (or be --wbits 16: "no weight step")
  for (const flag of Object.keys(raw)) {
    const owners = METHOD_FLAGS.get(flag);
    if (!owners || owners.some((o) => chain.includes(o.method))) continue;
    if (flag === 'wbits' && num('wbits') === 16 && !chain.some((m) => m.kind === 'weight')) continue;
    if (chain.length === 0)
      throw new OptionsError(
        `--${flag} is a quantization option, but this runs full precision: ` +
          'add --wbits N (GPTQ), --nearest (RTN) or --method',
      );
    throw new OptionsError(
      `--${flag} is an option of ${owners.map((o) => o.method.name).join(' and ')}, which this recipe does not run ` +
        `(its steps: ${chain.map((m) => m.name).join(' → ')})`,
    );
  }
  const valueOf = (o: OptionInfo): unknown => {
    const v = raw[norm(o.flag)];
    if (v === undefined) return undefined;
    if (o.kind === 'bool') return v === true;
    if (o.kind === 'enum') return String(v);
    return num(norm(o.flag));
  };
  const steps = chain.map((m) => {
    const step: { method: string } & Record<string, unknown> = { method: m.name };
    for (const o of optionInfos(m.options)) {
      const v = valueOf(o);
      if (v !== undefined) step[o.key] = v;
    }
    return step;
  });
  const cal: Record<string, unknown> = {};
  for (const o of CALIBRATION) {
    const v = o.key === 'calib' ? raw.calib : valueOf(o);
    if (v !== undefined) cal[o.key] = v;
  }
  const r = makeRecipe({ ...cal, steps });
  validateRecipe(r);
  const backend = String(raw.backend ?? 'webgpu');
  if (backend !== 'webgpu' && backend !== 'reference')
    throw new OptionsError(`--backend must be webgpu or reference (got "${backend}")`);
  const tasks = ((raw.tasks as string[] | undefined) ?? []).map(checkTaskName);
  const limit = num('limit');
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new OptionsError(`--limit must be a positive integer (got ${showValue(limit)})`);
  if (limit !== undefined && tasks.length === 0)
    throw new OptionsError('--limit counts zero-shot items: give --tasks too');
  const fewshot = num('num_fewshot');
  if (fewshot !== undefined && fewshot !== 0)
    throw new OptionsError(
      `--num_fewshot ${showValue(fewshot)}: the lab scores zero-shot only, as the seed papers report; ` +
        'use --num_fewshot 0 or leave it out',
    );
  const weights = String(raw.weights ?? 'auto') as WeightStorage;
  if (!(WEIGHT_STORAGES as readonly string[]).includes(weights))
    throw new OptionsError(`--weights must be auto, f16 or f32 (got "${weights}")`);
  const saveFormat = String(raw.save_format ?? 'gptq') as SaveFormat;
  if (!(SAVE_FORMATS as readonly string[]).includes(saveFormat))
    throw new OptionsError(`--save_format must be ${SAVE_FORMATS.join(', ')} (got "${saveFormat}")`);
  if (raw.save_format !== undefined && raw.save === undefined) throw new OptionsError('--save_format needs --save DIR');
  // a GPTQ checkpoint stores f16 scales: the run evaluates exactly what the checkpoint loads as
  if (raw.save !== undefined && saveFormat === 'gptq' && r.scales16 === undefined && r.steps.length) r.scales16 = true;
  const generate = generationOf(raw, num);
  const evalWindows = num('eval_windows');
  if (evalWindows !== undefined && (!Number.isInteger(evalWindows) || evalWindows < 1))
    throw new OptionsError(`--eval_windows must be a positive integer (got ${showValue(evalWindows)})`);
  return {
    model: model ?? '',
    recipe: r,
    evalPpl: (raw.eval_ppl as string[] | undefined) ?? [],
    seqlen: r.seqlen,
    evalWindows,
    dataDir: raw.data_dir as string | undefined,
    json: raw.json as string | undefined,
    backend,
    checkFinite: raw.check_finite === true,
    revision: String(raw.revision ?? 'main'),
    hubUrl: raw.hub_url as string | undefined,
    residentMb: num('resident_mb'),
    baselines: raw.baselines === true,
    fromLink,
    dryRun: raw.dry_run === true,
    tasks: [...new Set(tasks)],
    limit,
    weights,
    save: raw.save as string | undefined,
    saveFormat,
    ...(generate ? { generate } : {}),
  };
}

/** --generate and its settings; a setting without --generate is refused */
function generationOf(
  raw: Record<string, unknown>,
  num: (flag: string) => number | undefined,
): GenerateRequest | undefined {
  const given = GENERATION_FLAGS.filter((f) => f !== 'generate' && raw[f] !== undefined);
  if (raw.generate === undefined) {
    if (given.length) throw new OptionsError(`--${given[0]} sets how text is generated: give --generate "PROMPT" too`);
    return undefined;
  }
  const prompt = String(raw.generate);
  if (!prompt.trim()) throw new OptionsError('--generate needs a prompt');
  const maxNewTokens = num('max_new_tokens') ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
    throw new OptionsError(`--max_new_tokens must be a positive integer (got ${showValue(maxNewTokens)})`);
  const settings = {
    temperature: num('temperature') ?? GREEDY.temperature,
    topK: num('top_k') ?? GREEDY.topK,
    topP: num('top_p') ?? GREEDY.topP,
    repetitionPenalty: num('repetition_penalty') ?? GREEDY.repetitionPenalty,
    seed: num('sample_seed') ?? GREEDY.seed,
  };
  const why = samplingError(settings);
  if (why) throw new OptionsError(`--generate: ${why}`);
  return { prompt, maxNewTokens, ...settings };
}

/** "rptq → gptq (abits 4, …)": the normalised steps as a run prints and records them. */
export function describeChain(r: QuantRecipe): string {
  return r.steps.length ? r.steps.map((s) => s.method).join(' → ') : chainOf(r);
}
