// DuQuant (Lin et al. 2024) for one decoder block; shared/docs/methods.md, "DuQuant", and
// docs/duquant-reference-notes.md for what the reference code (Hsu1023/DuQuant) does where the paper is silent:
//   0. statistics: per-channel max|x| of every linear input over all calibration tokens of the full-precision model
//      (prepare), and the windows' mean embedding run through the already-quantized blocks (the rotation input);
//   1. smoothing: s = max|x|^α / max|W_key|^(1−α) per pair, folded into norms and producers (smoothing.ts);
//   2. for each linear input in forward order (q/k/v, o, gate/up, down), on the rotation input as it reaches that
//      input through the block so far — earlier inputs transformed and quantized, earlier layers' weights quantized
//      (RTN with the static clip), Q/K through a Hadamard rotation then quantized per (token, head), V per
//      (token, head):
//        R₁ = greedy rotation, perm = zigzag of max|x·R₁|, R₂ = greedy rotation of the permuted activation
//      (rotation.ts), x' = ((x·R₁)[:, perm])·R₂ online (blockRotate kernel) and the consumers' input columns the
//      same;
//   3. activations per token, dynamic, asymmetric, clipped by lac (tokenQuant kernel); weights per output row from the
//      raw range clipped by swc — RTN as the reference, or GPTQ/CLAQ on the transformed weights (a lab extension).
import { z } from 'zod';
import type { Backend } from '../gpu/backend.ts';
import * as ref from '../gpu/reference.ts';
import { familyOf, type LinearRole } from '../model/families.ts';
import type { ModelConfig } from '../model/config.ts';
import { tapIn, type ActSite, type TapPoint } from '../model/taps.ts';
import type { HostBlock, HostRotationStep, TokenQuant } from '../model/weights.ts';
import { SiteRangeCollector } from './activationStats.ts';
import { fitColumnGroups } from './grid.ts';
import type { ColumnGroups, PrepareContext, TransformMethod } from './method.ts';
import { LWC_INIT } from './lwc.ts';
import { SeededRandom } from './random.ts';
import { abitsOption } from './weightOptions.ts';
import { greedyRotation, greedyRotationOn, hadamard, rotationBlock, zigzag } from './rotation.ts';
import {
  consumers,
  copyHostBlock,
  LINEAR_SITES,
  SMOOTH_KEY,
  smoothBlock,
  smoothingScale,
  type LinearSite,
  type SmoothingScales,
} from './smoothing.ts';

const ratio = (flag: string, label: string, d: number, description: string) =>
  z.number().gt(0).max(1).default(d).meta({ flag, label, description, range: 'a number in (0, 1]' });

const options = z.strictObject({
  abits: abitsOption(4, ', per token'),
  smooth: z.boolean().default(true).meta({
    flag: 'smooth',
    label: 'smoothing',
    description: 'migrate activation outliers into the weights before rotating (--no-smooth: off)',
  }),
  alpha: z.number().min(0).max(1).default(0.6).meta({
    flag: 'alpha',
    label: 'α',
    description: 'smoothing strength: s = max|x|^α / max|W|^(1−α)',
    range: 'a number in [0, 1]',
  }),
  rotate: z.boolean().default(true).meta({
    flag: 'rotate',
    label: 'rotations',
    description: 'block rotations and the zigzag permutation (--no-rotate: off)',
  }),
  blockSize: z.number().int().min(1).max(4096).default(128).meta({
    flag: 'block_size',
    label: 'block size',
    description: 'rotation block; a width it does not divide uses its largest divisor below it',
  }),
  maxRotationStep: z.number().int().min(0).max(4096).default(256).meta({
    flag: 'max_rotation_step',
    label: 'greedy steps',
    description: 'most greedy steps per rotation (the best prefix is kept)',
  }),
  permutationTimes: z.number().int().min(0).max(8).default(1).meta({
    flag: 'permutation_times',
    label: 'permutations',
    description: 'zigzag permutations, each followed by another rotation',
  }),
  lac: ratio('lac', 'activation clip', 0.9, "each token's min and max are scaled by this before quantizing"),
  qkLac: z.number().gt(0).max(1).optional().meta({
    flag: 'qk_lac',
    label: 'Q/K clip',
    description: 'clip of Q and K after their Hadamard rotation; blank = lac, as the reference',
    fallback: 'lac',
    range: 'a number in (0, 1]',
  }),
  swc: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .meta({
      flag: 'swc',
      label: 'weight clip',
      description:
        "each weight row's min and max are scaled by this (static clipping); it takes precedence over a learnable " +
        'clip (--lwc), as the reference',
      fallback: '0.8, unless the weight step learns the clip',
      range: 'a number in (0, 1]',
    }),
  refExchange: z.boolean().default(false).meta({
    flag: 'duquant_ref_exchange',
    label: 'reference exchange',
    description:
      "[ref] the greedy step's channel is the extreme entry's row (token) index mod the block, as the reference code",
  }),
  rotationPerBlock: z.boolean().default(false).meta({
    flag: 'rotation_per_block',
    label: 'one rotation per block',
    description: "one matrix per block, as the paper, instead of the reference's one shared by all blocks",
  }),
});
export type DuquantStep = z.infer<typeof options>;

/** What the Inspect view shows of one linear input of one block. */
export interface DuquantSiteReport {
  layer: number;
  site: LinearSite;
  channels: number;
  /** rotation block size used for this width */
  block: number;
  /** max|x| per channel over the rotation input at each stage: original, smoothed, R₁, perm 1, R₂ … */
  stages: { name: string; maxAbs: number[] }[];
  /**
   * each rotation: greedy steps kept, the peak after 0…max steps, and its first block (up to 64 × 64) for the
   * heatmap
   */
  rotations: { name: string; steps: number; peaks: number[]; n: number; shown: number; heat: number[] }[];
  /**
   * ‖q(x) − x‖² / ‖x‖² of per-token quantization at abits, before and after the transform (null at 16 bits)
   */
  error: { before: number; after: number } | null;
}

/** What refold needs: the smoothing scales and each linear input's orthogonal steps. */
interface DuquantFold {
  scales: SmoothingScales | null;
  steps: Partial<Record<LinearSite, HostRotationStep[]>>;
}

/** per layer, max|x| per channel of every linear input (full precision, all calibration tokens) */
type ActMax = Record<LinearSite, Float32Array>[];

/** Where each linear input is seen before its own transform. */
const CAPTURE: Record<LinearSite, TapPoint> = {
  attn_norm: 'attn_norm',
  o_in: tapIn('o'),
  ffn_norm: 'ffn_norm',
  down_in: tapIn('down'),
};

function maxAbs(X: Float32Array, C: number): number[] {
  const m = new Array<number>(C).fill(0);
  for (let i = 0; i < X.length; i++) m[i % C] = Math.max(m[i % C], Math.abs(X[i]));
  return m;
}

/** 4 significant digits: what a chart needs, at a third of a report's size */
const short = (x: number) => Number(x.toPrecision(4));

/** X [T, C] through rotation steps (host twin of the online transform; also what the consumers' columns get). */
export function applySteps(X: Float32Array, C: number, steps: HostRotationStep[]): Float32Array {
  let x = ref.cpu(X, [X.length / C, C]);
  for (const s of steps) x = ref.blockRotate(x, ref.cpu(s.R, [s.R.length / (s.n * s.n), s.n, s.n]), s.n, s.perm);
  return x.data;
}

/** ‖q(x) − x‖² / ‖x‖² of per-token quantization of X [T, C]. */
function tokenError(X: Float32Array, C: number, maxq: number, lac: number): number {
  const q = ref.cpu(X.slice(), [X.length / C, C]);
  ref.tokenQuant(q, C, maxq, lac);
  let num = 0;
  let den = 0;
  X.forEach((x, i) => ((num += (q.data[i] - x) ** 2), (den += x * x)));
  return num / den;
}

/** The greedy rotation of one width: one matrix shared by the blocks (the reference), or one per block (the paper). */
async function fitRotation<T>(
  be: Backend<T>,
  X: Float32Array,
  C: number,
  n: number,
  o: DuquantStep,
  rng: SeededRandom,
) {
  const tokens = X.length / C;
  const blocks = o.rotationPerBlock ? C / n : 1;
  const rotation = new Float32Array(blocks * n * n);
  const kept: { steps: number; peaks: number[]; R: Float64Array }[] = [];
  for (let b = 0; b < blocks; b++) {
    // the activation as [rows, n]: every block pooled, or block b's columns alone
    const Xb =
      blocks === 1
        ? X
        : Float32Array.from({ length: tokens * n }, (_, i) => X[Math.floor(i / n) * C + b * n + (i % n)]);
    let g;
    if (be.software) g = greedyRotation(Float64Array.from(Xb), n, o.maxRotationStep, rng, o.refExchange);
    else {
      const Xt = be.fromHost(Xb, [Xb.length / n, n]);
      g = await greedyRotationOn(be, Xt, n, o.maxRotationStep, rng, o.refExchange);
      be.release(Xt);
    }
    rotation.set(g.R, b * n * n);
    kept.push(g);
  }
  return { R: rotation, first: kept[0] };
}

/** max|x| per linear input of every block of the full-precision model, over all calibration tokens. */
async function activationMax<T>({ be, decoder, windows, layers }: PrepareContext<T>): Promise<ActMax> {
  const hs: T[] = [];
  try {
    for (const w of windows) hs.push(await decoder.embed(w));
    const out: ActMax = [];
    for (let i = 0; i < layers; i++) {
      const block = decoder.weights.upload(await decoder.weights.hostBlock(i));
      const collector = new SiteRangeCollector(be, decoder.cfg);
      try {
        for (const h of hs) await decoder.block(i, h, block, (_, point, t) => collector.add(point, t));
      } finally {
        decoder.weights.done(i, block);
      }
      const r = await collector.read();
      const entry = {} as Record<LinearSite, Float32Array>;
      for (const site of LINEAR_SITES)
        entry[site] = Float32Array.from({ length: r[site].length / 2 }, (_, c) =>
          Math.max(-r[site][c * 2], r[site][c * 2 + 1]),
        );
      out.push(entry);
    }
    return out;
  } finally {
    for (const h of hs) be.release(h);
  }
}

/** The steps the activation takes: with a run-time division by s (GQA's o_proj input), 1/s folded into R₁'s rows. */
function withDivision(steps: HostRotationStep[], s: Float32Array | null, C: number): HostRotationStep[] {
  if (!s) return steps;
  if (steps.length === 0) return [{ R: Float32Array.from(s, (x) => 1 / x), n: 1, perm: null }];
  const [first, ...rest] = steps;
  const { n } = first;
  // R₁ sees the channels in their own order: the permutation only ever comes before R₂
  if (first.perm) throw new Error('withDivision: the first rotation step has a permutation');
  const blocks = C / n;
  const shared = first.R.length === n * n;
  const folded = new Float32Array(blocks * n * n);
  for (let b = 0; b < blocks; b++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++)
        folded[(b * n + i) * n + j] = first.R[((shared ? 0 : b) * n + i) * n + j] / s[b * n + i];
  return [{ R: folded, n, perm: first.perm }, ...rest];
}

/** The power-of-two Hadamard block for Q and K: the largest power of two dividing head_dim, at most block_size. */
export function hadamardBlock(headDim: number, blockSize: number): number {
  let n = 1;
  while (headDim % (n * 2) === 0 && n * 2 <= blockSize) n *= 2;
  return n;
}

/** Per-row RTN with DuQuant's clipped raw range, on the host: the weights the fitting forward runs with. */
function clippedRtn(
  W: Float32Array,
  [R, K]: [number, number],
  bits: number,
  clip: Pick<ColumnGroups, 'clip' | 'bounds'>,
): Float32Array {
  const maxq = 2 ** bits - 1;
  const params = fitColumnGroups(W, R, K, new Uint32Array(K), 1, maxq, false, clip);
  return Float32Array.from(W, (w, i) =>
    ref.quantize(w, params[Math.floor(i / K) * 2], params[Math.floor(i / K) * 2 + 1], maxq),
  );
}

function foldInto(host: HostBlock, fold: DuquantFold, cfg: ModelConfig): HostBlock {
  const h = fold.scales ? smoothBlock(host, fold.scales, cfg).host : copyHostBlock(host);
  for (const [site, steps] of Object.entries(fold.steps) as [LinearSite, HostRotationStep[]][]) {
    for (const role of consumers(cfg, site)) {
      const l = h.linears[role]!;
      l.W = applySteps(l.W, l.shape[1], steps);
    }
  }
  return h;
}

// the reference's run.sh: the static clip named (--swc 0.8), so a link from it says which clip it ran
const presetRow = (label: string, wbits: number, abits: number) => ({
  label,
  steps: [
    { method: 'duquant', abits, swc: 0.8 },
    { method: 'rtn', wbits },
  ],
});

export const DUQUANT: TransformMethod<typeof options, DuquantSiteReport> = {
  kind: 'transform',
  name: 'duquant',
  title: 'DuQuant',
  summary:
    'smooth, then rotate and permute each linear input in small blocks so outliers spread out; ' +
    'quantize activations per token',
  options,
  fixesWeightGroups:
    'DuQuant quantizes each weight row, asymmetric, from its raw range clipped by --swc (the reference has no groups)',
  clipsWeights: true,
  defaultWeight: 'rtn',
  usesMeanInput: true,
  check(o, ctx) {
    if (o.qkLac !== undefined && o.abits === 16)
      ctx.bad('--qk_lac needs --abits below 16 (Q and K stay full precision)');
    // fc1 rows → fc2 columns is exact only through a positively homogeneous activation (ReLU), not GELU
    if (o.smooth && ctx.cfg && familyOf(ctx.cfg).mlp === 'plain' && ctx.cfg.activation !== 'relu')
      ctx.bad(
        "DuQuant's smoothing folds fc1 → fc2, which is exact only through ReLU; " +
          `this model uses ${ctx.cfg.activation}: add --no-smooth`,
      );
  },
  describe(o) {
    const parts = [o.smooth ? `α ${o.alpha}` : 'no smoothing'];
    parts.push(
      o.rotate ? `block ${o.blockSize} · ${o.maxRotationStep} steps · ${o.permutationTimes} perm` : 'no rotation',
    );
    parts.push(
      `lac ${o.lac}${o.qkLac !== undefined ? ` (Q/K ${o.qkLac})` : ''} · ` +
        (o.swc !== undefined ? `swc ${o.swc}` : 'swc 0.8 unless learned'),
    );
    if (o.refExchange) parts.push('ref exchange');
    if (o.rotationPerBlock) parts.push('rotation per block');
    return parts.join(' · ');
  },
  label: (o, wbits) => `W${wbits}A${o.abits}${o.rotate ? '' : o.smooth ? ' smoothing only' : ' per-token'}`,
  // the plain per-token quantizers (no smoothing, no rotation, no clip) and smoothing alone, in the same run
  baselines: (o) => [
    { name: 'per-token', options: { ...o, smooth: false, rotate: false, lac: 1, qkLac: undefined, swc: 1 } },
    { name: 'smoothing', options: { ...o, rotate: false } },
  ],
  activationBits: (o) => o.abits,
  prepare: (ctx, o) => (o.smooth ? activationMax(ctx) : Promise.resolve(null)),

  async block(ctx, o) {
    const { be, decoder, layer } = ctx;
    const cfg = decoder.cfg;
    const D = cfg.headDim;
    if (!ctx.meanInput)
      throw new Error('DuQuant fits its rotations on the mean calibration input, which the pipeline did not give');
    const quantActs = o.abits < 16;
    const maxq = 2 ** o.abits - 1;
    const rng = new SeededRandom((ctx.seed * 7919 + layer) >>> 0);
    // the weight clip: --swc when given (it takes precedence, as the reference), else the learnable clip when the
    // weight step trains one, else 0.8; the rotations are fitted against the learnable clip's start
    const staticClip = o.swc ?? (ctx.weightTrainsClip ? undefined : 0.8);
    const fitClip = (rows: number): Pick<ColumnGroups, 'clip' | 'bounds'> =>
      staticClip !== undefined ? { clip: staticClip } : { bounds: new Float32Array(rows * 2).fill(LWC_INIT) };

    // 1. smoothing, from the full-precision model's max|x| and this block's original weights
    let scales: SmoothingScales | null = null;
    let host: HostBlock;
    let oDivide: Float32Array | null = null;
    if (o.smooth) {
      const actMax = (ctx.prepared as ActMax)[layer];
      scales = {} as SmoothingScales;
      for (const site of LINEAR_SITES)
        scales[site] = smoothingScale(actMax[site], ctx.host.linears[SMOOTH_KEY[site]]!, o.alpha);
      ({ host, oDivide } = smoothBlock(ctx.host, scales, cfg)); // a smoothed copy
    } else host = copyHostBlock(ctx.host);

    // the quantizers that need no fitting: Q and K through a Hadamard rotation (one of the rotations --no-rotate turns
    // off) then per (token, head); V per (token, head)
    const rotations: Partial<Record<ActSite, HostRotationStep[]>> = {};
    const act: Partial<Record<ActSite, TokenQuant>> = {};
    if (quantActs) {
      if (o.rotate) {
        const n = hadamardBlock(D, o.blockSize);
        const Hd = Float32Array.from(hadamard(n));
        rotations.q = [{ R: Hd, n, perm: null }];
        rotations.k = [{ R: Hd, n, perm: null }];
      }
      act.q = { group: D, maxq, lac: o.qkLac ?? o.lac };
      act.k = { group: D, maxq, lac: o.qkLac ?? o.lac };
      act.v = { group: D, maxq, lac: 1 };
    }

    // 2. each linear input in forward order, fitted on the rotation input as it reaches it through the block so far
    const fitWeights: HostBlock['linears'] = {};
    const fold: DuquantFold = { scales, steps: {} };
    const report: DuquantSiteReport[] = [];
    for (const site of LINEAR_SITES) {
      const X = await captureInput(site);
      const C = X.length / be.shape(ctx.meanInput)[0];
      const divide = site === 'o_in' ? oDivide : null;
      const Xs = divide ? X.map((x, i) => x / divide[i % C]) : X;
      const original = scales && !divide ? X.map((x, i) => x * scales![site][i % C]) : X;
      const stages: DuquantSiteReport['stages'] = [];
      const stage = (name: string, x: Float32Array) => stages.push({ name, maxAbs: maxAbs(x, C).map(short) });
      stage('original', original);
      if (scales) stage('smoothed', Xs);
      const n = rotationBlock(C, o.blockSize);
      const steps: HostRotationStep[] = [];
      const rots: DuquantSiteReport['rotations'] = [];
      let cur = Xs;
      for (let t = 0; o.rotate && t <= o.permutationTimes; t++) {
        let perm: Uint32Array | null = null;
        if (t > 0) {
          perm = zigzag(maxAbs(cur, C), n);
          const p = perm;
          cur = cur.map((_, i) => cur[i - (i % C) + p[i % C]]);
          stage(`perm ${t}`, cur);
        }
        const { R, first } = await fitRotation(be, cur, C, n, o, rng);
        cur = applySteps(cur, C, [{ R, n, perm: null }]);
        steps.push({ R, n, perm });
        stage(`R${t + 1}`, cur);
        const shown = Math.min(n, 64);
        rots.push({
          name: `R${t + 1}`,
          steps: first.steps,
          peaks: first.peaks.map(short),
          n,
          shown,
          heat: Array.from({ length: shown * shown }, (_, i) =>
            short(first.R[Math.floor(i / shown) * n + (i % shown)]),
          ),
        });
      }
      // the consumers' input columns get the same orthogonal steps; the activation also gets GQA's division
      for (const role of consumers(cfg, site)) {
        const l = host.linears[role]!;
        l.W = applySteps(l.W, l.shape[1], steps);
        if (ctx.weightBits !== undefined)
          fitWeights[role] = { ...l, W: clippedRtn(l.W, l.shape, ctx.weightBits, fitClip(l.shape[0])) };
      }
      const online = withDivision(steps, divide, C);
      if (online.length) rotations[site] = online;
      fold.steps[site] = steps;
      if (quantActs) act[site] = { group: C, maxq, lac: o.lac };
      report.push({
        layer,
        site,
        channels: C,
        block: n,
        stages,
        rotations: rots,
        error: quantActs
          ? { before: tokenError(original, C, maxq, o.lac), after: tokenError(cur, C, maxq, o.lac) }
          : null,
      });
    }

    const weightGroups: Partial<Record<LinearRole, ColumnGroups>> = {};
    for (const [role, l] of Object.entries(host.linears) as [LinearRole, { shape: [number, number] }][]) {
      weightGroups[role] = { colGroup: new Uint32Array(l.shape[1]), groups: 1, clip: staticClip };
    }
    return { host: { ...host, rotations }, act: quantActs ? act : undefined, weightGroups, report, fold };

    /** The input of `site` for the rotation input, with the sites before it transformed and quantized. */
    async function captureInput(site: LinearSite): Promise<Float32Array> {
      const fitted = {
        ...host,
        linears: { ...host.linears, ...fitWeights },
        rotations: { ...rotations },
        act: quantActs ? { ...act } : undefined,
      };
      const block = decoder.weights.upload(fitted);
      const h = be.rows(ctx.meanInput!, 0, be.shape(ctx.meanInput!)[0]);
      let X: Float32Array | undefined;
      try {
        await decoder.block(layer, h, block, async (_, point, t) => {
          if (point === CAPTURE[site] && !X) X = await be.toHost(t);
        });
      } finally {
        be.release(h);
        decoder.weights.done(layer, block);
      }
      return X!;
    }
  },
  refold: (host, fold, cfg) => foldInto(host, fold as DuquantFold, cfg),
  summarize(sites) {
    const peak = (st: { maxAbs: number[] }) => Math.max(...st.maxAbs).toPrecision(4);
    const lines = [
      'DuQuant per linear input, on the rotation input: max|x| at each stage, greedy steps kept, ' +
        'per-token error before → after',
    ];
    lines.push(
      '| block | input | channels | rotation block | max|x| by stage | steps | token error before → after |',
      '|---|---|---|---|---|---|---|',
    );
    for (const s of sites) {
      const stages = s.stages.map((st) => `${st.name} ${peak(st)}`).join(' → ');
      const err = s.error ? `${s.error.before.toExponential(2)} → ${s.error.after.toExponential(2)}` : '';
      lines.push(
        `| ${s.layer} | ${s.site} | ${s.channels} | ${s.block} | ${stages} ` +
          `| ${s.rotations.map((r) => `${r.name} ${r.steps}`).join(', ')} | ${err} |`,
      );
    }
    return lines.join('\n');
  },
  presets: [
    presetRow('DuQuant W4A4', 4, 4),
    presetRow('DuQuant W6A6', 6, 6),
    presetRow('DuQuant W4A8', 4, 8),
    // the reference's run_lwc.sh: α 0.5, no --swc, 20 epochs of learnable clipping
    {
      label: 'DuQuant + LWC W4A4',
      steps: [
        { method: 'duquant', abits: 4, alpha: 0.5 },
        { method: 'rtn', wbits: 4, lwc: true, epochs: 20 },
      ],
    },
  ],
};
