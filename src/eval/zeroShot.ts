// Zero-shot scoring as lm-evaluation-harness scores it (methods.md, "Zero-shot tasks"): every choice is a
// loglikelihood request (context, continuation); the model sees the last max_positions tokens of context +
// continuation without the last one, and a request's figure is the sum of its continuation tokens' log-probs.
//
// The choices of one item share their context, so they are packed as a token tree: the context once, then each
// continuation but its last token, each continuation seeing the context and itself (attention.wgsl, `packed`).
// Several items' trees go through one forward; only the rows that predict continuation tokens reach lm_head, and only
// per-request sums and greedy flags come back (Decoder.scoreRows). A query sees its keys in the order of the unpacked
// sequence, so a request's figure does not depend on what it was packed with.
import { maxWindow } from '../model/config.ts';
import { CancelledError, DatasetError, NonFiniteError } from '../errors.ts';
import type { Decoder } from '../model/forward.ts';
import type { TextTokenizer } from '../model/tokenizer.ts';
import { itemRequests, type Request } from './zeroShotRequests.ts';
import { TASKS, type ZeroShotItem, type ZeroShotTask } from './zeroShotTasks.ts';

export interface PackingOptions {
  /** items per forward (default 8) */
  batch?: number;
  /** most tokens in one forward (default 2048); an item larger than this runs alone */
  maxTokens?: number;
  /** false: every request is its own sequence, the context recomputed per choice (the benchmark's baseline) */
  share?: boolean;
}

export interface ZeroShotProgress {
  task: ZeroShotTask;
  done: number;
  total: number;
  itemsPerSecond: number;
}

export interface ScoreOptions extends PackingOptions {
  signal?: AbortSignal;
  onProgress?: (p: ZeroShotProgress) => void;
}

/** One request's outcome. */
export interface RequestResult {
  ll: number;
  greedy: boolean;
}

/** A task's figures as lm-eval reports them; stderr = sqrt(p(1 − p)/(n − 1)) (null for one item). */
export interface TaskScore {
  task: ZeroShotTask;
  items: number;
  acc: number;
  accStderr: number | null;
  accNorm?: number;
  accNormStderr?: number | null;
  /** lambada: exp(−mean continuation log-likelihood) */
  perplexity?: number;
  seconds: number;
}

/** A context and the continuations scored after it; `requests[i]` is where continuation i's figure goes. */
interface Tree {
  context: Uint32Array;
  conts: Uint32Array[];
  requests: number[];
}

/** An item's requests as trees: choices with the same context share one unless the longest would need truncation. */
function treesOf(reqs: Request[], first: number, maxPositions: number, share: boolean): Tree[] {
  const trees: Tree[] = [];
  const sameContext = (a: Uint32Array, b: Uint32Array) => a.length === b.length && a.every((x, i) => x === b[i]);
  reqs.forEach(({ context, continuation }, i) => {
    if (continuation.length > maxPositions)
      throw new DatasetError(
        `a continuation of ${continuation.length} tokens is longer than the model's ${maxPositions} positions`,
      );
    // lm-eval's input: the last max_positions + 1 tokens of context + continuation, without the last
    if (context.length + continuation.length - 1 > maxPositions) {
      const cut = context.length + continuation.length - (maxPositions + 1);
      trees.push({ context: context.slice(cut), conts: [continuation], requests: [first + i] });
      return;
    }
    const tree = share
      ? trees.find(
          (t) =>
            sameContext(t.context, context) &&
            t.context.length + Math.max(continuation.length, ...t.conts.map((c) => c.length)) - 1 <= maxPositions,
        )
      : undefined;
    if (tree) {
      tree.conts.push(continuation);
      tree.requests.push(first + i);
    } else trees.push({ context, conts: [continuation], requests: [first + i] });
  });
  return trees;
}

const treeTokens = (t: Tree) => t.context.length + t.conts.reduce((n, c) => n + c.length - 1, 0);

/** One forward's inputs: token ids, the packed layout (null for a single plain sequence) and the scored rows. */
export interface PackedForward {
  ids: Uint32Array;
  layout: Uint32Array | null;
  rows: Uint32Array;
  targets: Uint32Array;
  /** request k of this forward owns rows [starts[k], starts[k + 1]) */
  starts: Uint32Array;
  /** the requests, in the order of starts */
  requests: number[];
}

/**
 * Lays trees out one after another: context (x = y = 0, z = tree start), then each continuation segment. `plain`:
 * one tree with one continuation is an ordinary causal sequence, run without a layout (the unshared path); shared
 * scoring always packs, so a request meets the same kernels whatever the batch.
 */
export function packTrees(trees: Tree[], plain = false): PackedForward {
  if (plain && (trees.length !== 1 || trees[0].conts.length !== 1))
    throw new Error('packTrees: a plain sequence is one tree with one continuation');
  const T = trees.reduce((n, t) => n + treeTokens(t), 0);
  const ids = new Uint32Array(T);
  const layout = new Uint32Array(4 * T);
  const rows: number[] = [];
  const targets: number[] = [];
  const starts = [0];
  const requests: number[] = [];
  let at = 0;
  for (const tree of trees) {
    const c0 = at;
    const L = tree.context.length;
    ids.set(tree.context, at);
    for (let k = 0; k < L; k++) layout.set([0, 0, c0, k], 4 * (at + k));
    at += L;
    tree.conts.forEach((cont, i) => {
      const s0 = at;
      ids.set(cont.subarray(0, cont.length - 1), at);
      for (let k = 0; k < cont.length - 1; k++) layout.set([c0, c0 + L, s0, L + k], 4 * (at + k));
      at += cont.length - 1;
      // token k of the continuation is predicted by the row before it: the context's last, then the segment's
      for (let k = 0; k < cont.length; k++) {
        rows.push(k === 0 ? c0 + L - 1 : s0 + k - 1);
        targets.push(cont[k]);
      }
      starts.push(rows.length);
      requests.push(tree.requests[i]);
    });
  }
  return {
    ids,
    layout: plain ? null : layout,
    rows: Uint32Array.from(rows),
    targets: Uint32Array.from(targets),
    starts: Uint32Array.from(starts),
    requests,
  };
}

/** Every request of every item scored; results[item][choice]. */
export async function scoreItems<T>(
  decoder: Decoder<T>,
  tok: TextTokenizer,
  task: ZeroShotTask,
  items: ZeroShotItem[],
  opts: ScoreOptions = {},
): Promise<RequestResult[][]> {
  const batch = opts.batch ?? 8;
  const maxTokens = opts.maxTokens ?? 2048;
  const share = opts.share ?? true;
  // lm-eval's max_length: the model's positions (and Phi-3's sliding window)
  const maxPositions = maxWindow(decoder.cfg);
  // every item's requests encoded once; request r of the task is choice r − first[i] of item i
  const requests = items.map((it) => itemRequests(tok, it));
  const first = [0];
  for (const r of requests) first.push(first[first.length - 1] + r.length);
  const owner = requests.flatMap((r, i) => r.map(() => i));
  const trees = requests.map((r, i) => treesOf(r, first[i], maxPositions, share));
  const flat: RequestResult[] = new Array(first[items.length]);
  const t0 = performance.now();
  for (let i0 = 0; i0 < items.length;) {
    if (opts.signal?.aborted) throw new CancelledError('zero-shot scoring cancelled');
    // this forward's items: up to `batch`, within maxTokens (an item alone may pass it)
    let i1 = i0 + 1;
    let tokens = trees[i0].reduce((n, t) => n + treeTokens(t), 0);
    for (; i1 < items.length && i1 - i0 < batch; i1++) {
      const n = trees[i1].reduce((s, t) => s + treeTokens(t), 0);
      if (tokens + n > maxTokens) break;
      tokens += n;
    }
    const batchTrees = trees.slice(i0, i1).flat();
    // without sharing, every request runs as its own sequence
    for (const group of share ? [batchTrees] : batchTrees.map((t) => [t])) {
      const f = packTrees(group, !share);
      const h = await decoder.hidden(f.ids, { layout: f.layout ?? undefined });
      const s = await decoder.scoreRows(h, f.rows, f.targets, f.starts);
      decoder.be.release(h);
      f.requests.forEach((r, k) => {
        if (!Number.isFinite(s.ll[k]))
          throw new NonFiniteError(
            `${task}, item ${owner[r] + 1}: a choice scored a non-finite log-likelihood (the model produced NaN/Inf)`,
          );
        flat[r] = { ll: s.ll[k], greedy: s.greedy[k] };
      });
    }
    i0 = i1;
    opts.onProgress?.({ task, done: i1, total: items.length, itemsPerSecond: i1 / ((performance.now() - t0) / 1000) });
  }
  return items.map((_, i) => flat.slice(first[i], first[i + 1]));
}

/** numpy's argmax: the first index of the largest value. */
function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

function meanAndStderr(hits: boolean[]): [number, number | null] {
  const n = hits.length;
  const p = hits.filter(Boolean).length / n;
  return [p, n > 1 ? Math.sqrt((p * (1 - p)) / (n - 1)) : null];
}

/** A task's metrics from its items' request results (lm-eval's process_results and aggregation). */
export function aggregate(
  task: ZeroShotTask,
  items: ZeroShotItem[],
  results: RequestResult[][],
  seconds: number,
): TaskScore {
  const spec = TASKS[task];
  if (spec.greedy) {
    const [acc, accStderr] = meanAndStderr(results.map((r) => r[0].greedy));
    const meanLl = results.reduce((s, r) => s + r[0].ll, 0) / results.length;
    return { task, items: items.length, acc, accStderr, perplexity: Math.exp(-meanLl), seconds };
  }
  const lls = results.map((r) => r.map((x) => x.ll));
  const [acc, accStderr] = meanAndStderr(lls.map((ll, i) => argmax(ll) === items[i].gold));
  const out: TaskScore = { task, items: items.length, acc, accStderr, seconds };
  if (spec.metrics.includes('acc_norm')) {
    [out.accNorm, out.accNormStderr] = meanAndStderr(
      lls.map((ll, i) => argmax(ll.map((x, c) => x / items[i].lengths[c])) === items[i].gold),
    );
  }
  return out;
}

/** Scores a task's items and aggregates them. */
export async function scoreTask<T>(
  decoder: Decoder<T>,
  tok: TextTokenizer,
  task: ZeroShotTask,
  items: ZeroShotItem[],
  opts: ScoreOptions = {},
): Promise<TaskScore> {
  const t0 = performance.now();
  const results = await scoreItems(decoder, tok, task, items, opts);
  return aggregate(task, items, results, (performance.now() - t0) / 1000);
}
