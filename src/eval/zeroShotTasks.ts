// The seeds' eight zero-shot tasks as one table (methods.md, "Zero-shot tasks"; lm-evaluation-harness's task YAMLs):
// each entry names its file in data/zeroshot/, checks one JSON line and turns it into the item lm-eval scores —
// one context per choice (winogrande's partial scoring) or one shared context, the continuations, the gold index and
// the metrics. A malformed line is refused with its file and line number.
import { z } from 'zod';
import { DatasetError } from '../errors.ts';

export const ZERO_SHOT_TASKS = [
  'lambada_openai',
  'piqa',
  'arc_easy',
  'arc_challenge',
  'openbookqa',
  'boolq',
  'hellaswag',
  'winogrande',
] as const;
export type ZeroShotTask = (typeof ZERO_SHOT_TASKS)[number];

/** The RPTQ paper's six tasks (CLAQ adds hellaswag and winogrande). */
export const SEED_TASKS: ZeroShotTask[] = [
  'lambada_openai',
  'piqa',
  'arc_easy',
  'arc_challenge',
  'openbookqa',
  'boolq',
];

/** One scored item: the requests are (contexts[i], continuations[i]) pairs, one per choice. */
export interface ZeroShotItem {
  contexts: string[];
  continuations: string[];
  gold: number;
  /** character lengths acc_norm divides by (each choice without its leading space) */
  lengths: number[];
}

export type Metric = 'acc' | 'acc_norm' | 'perplexity';

interface TaskSpec {
  file: string;
  /** items in lm-eval's split (the file in ../shared/data/zeroshot) */
  size: number;
  metrics: Metric[];
  /** lambada: greedy match of one continuation, not a choice among several */
  greedy?: boolean;
  item(line: unknown): ZeroShotItem;
}

const choiceList = z.array(z.string()).min(1, 'the choice list is empty');
const choicesItem = z.strictObject({ query: z.string(), choices: choiceList, gold: z.number().int().min(0) });

/** Multiple choice with one shared context: each continuation is " " + choice (lm-eval's target delimiter). */
function multipleChoice(context: string, choices: string[], gold: number): ZeroShotItem {
  if (gold >= choices.length) throw new Error(`gold ${gold} is not one of the ${choices.length} choices`);
  return {
    contexts: choices.map(() => context),
    continuations: choices.map((c) => ' ' + c),
    gold,
    lengths: choices.map((c) => c.length),
  };
}

/** lm-eval's hellaswag preprocess: strip, " [title]" → ". ", drop [bracket] tags, double spaces → one. */
export function hellaswagPreprocess(text: string): string {
  return text
    .trim()
    .replaceAll(' [title]', '. ')
    .replace(/\[.*?\]/g, '')
    .replaceAll('  ', ' ');
}

export const TASKS: Record<ZeroShotTask, TaskSpec> = {
  lambada_openai: {
    file: 'lambada_openai.jsonl',
    size: 5153,
    metrics: ['acc', 'perplexity'],
    greedy: true,
    item(line) {
      const { text } = z.strictObject({ text: z.string() }).parse(line);
      const cut = text.lastIndexOf(' ');
      if (cut < 0) throw new Error('the text has no space to split the last word at');
      return {
        contexts: [text.slice(0, cut)],
        continuations: [' ' + text.slice(cut + 1)],
        gold: 0,
        lengths: [text.length - cut - 1],
      };
    },
  },
  piqa: {
    file: 'piqa.jsonl',
    size: 1838,
    metrics: ['acc', 'acc_norm'],
    item(line) {
      const d = z
        .strictObject({
          goal: z.string(),
          sol1: z.string(),
          sol2: z.string(),
          label: z.union([z.literal(0), z.literal(1)]),
        })
        .parse(line);
      return multipleChoice(`Question: ${d.goal}\nAnswer:`, [d.sol1, d.sol2], d.label);
    },
  },
  arc_easy: {
    file: 'arc_easy.jsonl',
    size: 2376,
    metrics: ['acc', 'acc_norm'],
    item: (line) => arcItem(line),
  },
  arc_challenge: {
    file: 'arc_challenge.jsonl',
    size: 1172,
    metrics: ['acc', 'acc_norm'],
    item: (line) => arcItem(line),
  },
  openbookqa: {
    file: 'openbookqa.jsonl',
    size: 500,
    metrics: ['acc', 'acc_norm'],
    item(line) {
      const d = choicesItem.parse(line);
      return multipleChoice(d.query, d.choices, d.gold);
    },
  },
  boolq: {
    file: 'boolq.jsonl',
    size: 3270,
    metrics: ['acc'],
    item(line) {
      const d = choicesItem.parse(line);
      if (!d.query.startsWith('Passage: ')) throw new Error('the query does not start with "Passage: "');
      return multipleChoice(`${d.query.slice('Passage: '.length)}\nAnswer:`, ['no', 'yes'], d.gold);
    },
  },
  hellaswag: {
    file: 'hellaswag.jsonl',
    size: 10042,
    metrics: ['acc', 'acc_norm'],
    item(line) {
      const d = z.strictObject({ ctx: z.string(), endings: choiceList, gold: z.number().int().min(0) }).parse(line);
      return multipleChoice(hellaswagPreprocess(d.ctx), d.endings.map(hellaswagPreprocess), d.gold);
    },
  },
  winogrande: {
    file: 'winogrande.jsonl',
    size: 1267,
    metrics: ['acc'],
    item(line) {
      const d = z
        .strictObject({ context_options: choiceList, continuation: z.string(), gold: z.number().int().min(0) })
        .parse(line);
      if (d.gold >= d.context_options.length)
        throw new Error(`gold ${d.gold} is not one of the ${d.context_options.length} options`);
      // partial scoring: one context per option, the same continuation after each
      const cont = ' ' + d.continuation;
      return {
        contexts: d.context_options,
        continuations: d.context_options.map(() => cont),
        gold: d.gold,
        lengths: d.context_options.map(() => d.continuation.length),
      };
    },
  },
};

function arcItem(line: unknown): ZeroShotItem {
  const d = choicesItem.parse(line);
  return multipleChoice(`${d.query}\nAnswer:`, d.choices, d.gold);
}

export function checkTaskName(name: string): ZeroShotTask {
  if (!(ZERO_SHOT_TASKS as readonly string[]).includes(name))
    throw new DatasetError(`unknown task "${name}"; the lab scores ${ZERO_SHOT_TASKS.join(', ')}`);
  return name as ZeroShotTask;
}

/** A task file's items (the first `limit` when given), each line checked; a bad line names the file and line. */
export function parseTask(task: ZeroShotTask, jsonl: string, location: string, limit?: number): ZeroShotItem[] {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new DatasetError(`--limit must be a positive integer (got ${limit})`);
  const items: ZeroShotItem[] = [];
  const lines = jsonl.split('\n');
  for (let i = 0; i < lines.length && (limit === undefined || items.length < limit); i++) {
    if (lines[i].trim() === '') continue;
    try {
      items.push(TASKS[task].item(JSON.parse(lines[i])));
    } catch (e) {
      const why =
        e instanceof z.ZodError
          ? e.issues.map((x) => `${x.path.join('.') || 'line'}: ${x.message}`).join('; ')
          : (e as Error).message;
      throw new DatasetError(`${location}, line ${i + 1}: not a valid ${task} item (${why})`);
    }
  }
  if (items.length === 0) throw new DatasetError(`${location} has no ${task} items`);
  return items;
}

/** Task files live under this folder of the data folder (../shared/data/zeroshot/, or the same names elsewhere). */
export const TASK_DIR = 'zeroshot/';

/** A task's items read through the data folder's reader (checked: not an HTML page, every line JSON), then parsed. */
export async function loadTask(
  task: ZeroShotTask,
  read: (rel: string) => Promise<string>,
  limit?: number,
): Promise<{ items: ZeroShotItem[]; text: string }> {
  const rel = TASK_DIR + TASKS[task].file;
  const text = await read(rel);
  return { items: parseTask(task, text, rel, limit), text };
}
