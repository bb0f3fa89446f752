// Seed-compatible flags (--wbits, --abits, --eval_ppl, --hidden_layer_num…) parsed into one options object.
import { OptionsError } from '../errors.ts';
import { recipe, validateRecipe, type Method, type QuantRecipe } from '../quant/recipe.ts';

export interface CliOptions {
  model: string;
  recipe: QuantRecipe;
  abits: number;
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
  /** RPTQ: also run the baselines without reorder */
  baselines: boolean;
  /** a share link whose experiment replaces the model and experiment flags */
  fromLink?: string;
  /** print the experiment and stop */
  dryRun: boolean;
}

const FLAGS: Record<string, 'number' | 'string' | 'list' | 'bool'> = {
  method: 'string',
  nearest: 'bool',
  groupsize: 'number',
  sym: 'bool',
  act_order: 'bool',
  static_groups: 'bool',
  true_sequential: 'bool',
  percdamp: 'number',
  blocksize: 'number',
  nsamples: 'number',
  calib: 'string',
  seed: 'number',
  hidden_layer_num: 'number',
  wbits: 'number',
  abits: 'number',
  eval_ppl: 'list',
  seqlen: 'number',
  eval_windows: 'number',
  data_dir: 'string',
  json: 'string',
  backend: 'string',
  check_finite: 'bool',
  revision: 'string',
  hub_url: 'string',
  resident_mb: 'number',
  only_quant_kv: 'bool',
  R1_clusters: 'number',
  R2_clusters: 'number',
  R3_clusters: 'number',
  R4_clusters: 'number',
  R5_clusters: 'number',
  kmeans_restarts: 'number',
  norm_bits: 'number',
  prob_bits: 'number',
  clustering: 'string',
  baselines: 'bool',
  from_link: 'string',
  dry_run: 'bool',
};

/** Flags that describe the experiment: a share link carries all of them, so they cannot come with --from-link. */
const EXPERIMENT_FLAGS = new Set(Object.keys(FLAGS).filter((f) => !['data_dir', 'json', 'backend', 'check_finite', 'revision', 'hub_url', 'resident_mb', 'baselines', 'from_link', 'dry_run'].includes(f)));

/** Flags that only mean something when a method runs. */
const METHOD_FLAGS = new Set([...EXPERIMENT_FLAGS].filter((f) => !['method', 'wbits', 'abits', 'eval_ppl', 'seqlen', 'eval_windows', 'hidden_layer_num'].includes(f)));

export const USAGE = `usage: npm run quantlab -- <model folder | org/name[@revision] | URL> [flags]
  --method fp|rtn|gptq|rptq     (--nearest = rtn; --abits below 16 implies rptq)
  --wbits 2..8 --groupsize N    bits and group size (−1 = per row); --sym for a symmetric grid
  --abits 2..8|16               RPTQ activation bits; --only_quant_kv quantizes only the K/V cache to abits
  --R1_clusters 32 --R2_clusters 4 --R3_clusters 4 --R4_clusters 32 --R5_clusters 32
                                RPTQ k-means clusters per reorder point (R2, R3 per head); --kmeans_restarts 10
  --norm_bits N --prob_bits N   RPTQ norm-output and attention-probability bits (default max(8, abits))
  --clustering kmeans|contiguous|tensor   RPTQ's clusters, or a baseline without reorder
  --baselines                   RPTQ: also run contiguous groups and per-tensor in the same run
  --act-order --static-groups --true-sequential --percdamp 0.01 --blocksize 128     GPTQ options
  --calib c4|tinystories|tinyshakespeare|https://…/text.txt|FILE.txt --nsamples 128 --seed 0   calibration
  --hidden_layer_num N          quantize and run only the first N blocks
  --eval_ppl wikitext2,ptb,c4   datasets: wikitext2 ptb ptb-new c4 tinystories tinystories-file
  --seqlen N                    window length (default 2048, capped at the model's max positions)
  --eval_windows K              score only the first K windows
  --data_dir DIR|URL            evaluation texts (default ../shared/data)
  --json FILE                   write {model, config, ppl, timings, device}
  --backend webgpu|reference    run on WebGPU (default) or the CPU reference forward
  --check_finite                stop at the first block that produces NaN/Inf
  --resident_mb MB              weights kept on the GPU (default 2048); beyond it blocks stream one at a time
  --revision REV --hub_url URL  Hub revision and endpoint
  --from-link URL               run the experiment of a lab share link (a model argument overrides its model)
  --dry_run                     print the experiment and stop`;

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
    name = name.replace(/-/g, '_');
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
      while (argv[i + 1] !== undefined && !argv[i + 1].startsWith('--') && model !== undefined) items.push(...argv[++i].split(','));
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
  const abits = num('abits', 16)!;
  let method = String(raw.method ?? (raw.nearest ? 'rtn' : abits !== 16 || raw.only_quant_kv ? 'rptq' : num('wbits', 16) !== 16 ? 'gptq' : 'fp')) as Method;
  if (raw.nearest) method = 'rtn';
  if (method === 'fp' && raw.wbits !== undefined && num('wbits') !== 16) throw new OptionsError('--method fp runs at 16 bits; pick --method rtn or gptq for --wbits below 16');
  if (method === 'fp') {
    // a method's option without a method would silently run full precision
    const stray = Object.keys(raw).find((k) => METHOD_FLAGS.has(k));
    if (stray) throw new OptionsError(`--${stray} is a quantization option, but this runs full precision: add --wbits N (GPTQ), --nearest (RTN) or --method`);
  }
  const r = recipe({
    method,
    ...(raw.wbits !== undefined ? { wbits: num('wbits') } : {}),
    groupsize: num('groupsize', -1),
    sym: raw.sym === true,
    actOrder: raw.act_order === true,
    staticGroups: raw.static_groups === true,
    trueSequential: raw.true_sequential === true,
    percdamp: num('percdamp', 0.01),
    blocksize: num('blocksize', 128),
    nsamples: num('nsamples', 128),
    seqlen: num('seqlen', 2048),
    calib: String(raw.calib ?? 'c4'),
    seed: num('seed', 0),
    hiddenLayerNum: num('hidden_layer_num'),
    abits,
    onlyQuantKv: raw.only_quant_kv === true,
    clusters: { R1: num('R1_clusters', 32)!, R2: num('R2_clusters', 4)!, R3: num('R3_clusters', 4)!, R4: num('R4_clusters', 32)!, R5: num('R5_clusters', 32)! },
    kmeansRestarts: num('kmeans_restarts', 10),
    normBits: num('norm_bits'),
    probBits: num('prob_bits'),
    clustering: String(raw.clustering ?? 'kmeans') as QuantRecipe['clustering'],
  });
  validateRecipe(r);
  const backend = String(raw.backend ?? 'webgpu');
  if (backend !== 'webgpu' && backend !== 'reference') throw new OptionsError(`--backend must be webgpu or reference (got "${backend}")`);
  const evalWindows = num('eval_windows');
  if (evalWindows !== undefined && (!Number.isInteger(evalWindows) || evalWindows < 1)) throw new OptionsError('--eval_windows must be a positive integer');
  return {
    model: model ?? '',
    recipe: r,
    abits,
    evalPpl: (raw.eval_ppl as string[] | undefined) ?? [],
    seqlen: num('seqlen', 2048)!,
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
  };
}
