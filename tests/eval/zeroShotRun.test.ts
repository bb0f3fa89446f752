// Zero-shot tasks through the CLI (issue 13, acceptance 2 and 3): a GPTQ W3 run reports FP and quantized accuracy
// side by side; every bad input is refused with a specific error before or instead of a figure.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { parseArgs } from '../../src/cli/args.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { folderSource } from '../../src/model/source.node.ts';
import type { EvalResult } from '../../src/pipeline/types.ts';
import { MODELS, SHARED, sharedGpu } from '../helpers.ts';

/** A data folder with only the given task files. */
function dataDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'quantlab-zeroshot-'));
  mkdirSync(join(dir, 'zeroshot'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'zeroshot', name), text);
  return dir;
}

const runTasks = async (tasks: string[], data: string) =>
  runExperiment(
    { datasets: [], tasks, limit: 3 },
    { source: folderSource(MODELS.stories260K), readText: folderReader(data), gpu: await sharedGpu() },
  );

describe('zero-shot tasks from the command line', () => {
  it('GPTQ W3 on stories260K: FP and quantized accuracy of two tasks in one run, in the table and --json', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'quantlab-zs-')), 'run.json');
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
    try {
      const code = await main([
        MODELS.stories260K,
        '--wbits',
        '3',
        '--calib',
        'tinystories',
        '--nsamples',
        '2',
        '--seqlen',
        '128',
        '--tasks',
        'piqa,lambada_openai',
        '--limit',
        '6',
        '--num_fewshot',
        '0',
        '--json',
        json,
      ]);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
    }
    const out = lines.join('\n');
    // lm-eval's header line and columns (n-shot included); the quantized column named as the perplexity table names it
    expect(out).toMatch(/zero-shot \(lm-evaluation-harness protocol\), limit: 6, num_fewshot: 0/);
    expect(out).toMatch(/\| task \| n-shot \| items \| metric \| FP \| GPTQ W3 \| Δ \| s \|/);
    expect(out).toMatch(
      /\| piqa \| 0 \| 6 \| acc_norm \| \d\.\d{4} ± \d\.\d{4} \| \d\.\d{4} ± \d\.\d{4} \| [+-]\d\.\d{4} \|/,
    );
    expect(out).toMatch(/\| lambada_openai \| 0 \| 6 \| perplexity \| /);
    expect(out).toMatch(/first 6 items of each task: --limit 6/);
    const r = JSON.parse(readFileSync(json, 'utf8')) as EvalResult;
    expect(r.config.limit).toBe(6);
    expect(Object.keys(r.tasks!)).toEqual(['piqa', 'lambada_openai']);
    expect(r.tasksBefore!.piqa.items).toBe(6);
    expect(r.tasks!.lambada_openai.perplexity).toBeGreaterThan(1);
    expect(r.tasks!.piqa.accStderr).toBeCloseTo(Math.sqrt((r.tasks!.piqa.acc * (1 - r.tasks!.piqa.acc)) / 5), 12);
  });

  it('refuses bad flags: an unknown task, --limit 0, --limit without tasks, few-shot', () => {
    const m = MODELS.stories260K;
    expect(() => parseArgs([m, '--tasks', 'piqa,mmlu'])).toThrow(
      /unknown task "mmlu"; the lab scores lambada_openai, piqa/,
    );
    expect(() => parseArgs([m, '--tasks', 'piqa', '--limit', '0'])).toThrow(
      /--limit must be a positive integer \(got 0\)/,
    );
    expect(() => parseArgs([m, '--limit', '5'])).toThrow(/--limit counts zero-shot items: give --tasks too/);
    expect(() => parseArgs([m, '--tasks', 'piqa', '--num_fewshot', '5'])).toThrow(
      /--num_fewshot 5: the lab scores zero-shot only/,
    );
    expect(parseArgs([m, '--tasks', 'piqa', '--num_fewshot', '0']).tasks).toEqual(['piqa']);
  });

  it('refuses bad task files by name and line: missing, not JSON, not an item, an empty choice list', async () => {
    const piqa = readFileSync(`${SHARED}data/zeroshot/piqa.jsonl`, 'utf8').split('\n').slice(0, 3);
    const data = dataDir({
      'piqa.jsonl': [piqa[0], '{"goal": "g", "sol1": "a", "label": 0}', piqa[2]].join('\n'),
      'boolq.jsonl': `${piqa[0]}\nnot json\n`,
      'arc_easy.jsonl': '{"query": "Question: q", "choices": [], "gold": 0}\n',
    });
    await expect(runTasks(['winogrande'], data)).rejects.toThrow(
      /dataset file .*zeroshot\/winogrande\.jsonl not found \(set --data_dir/,
    );
    await expect(runTasks(['piqa'], data)).rejects.toThrow(
      /zeroshot\/piqa\.jsonl, line 2: not a valid piqa item \(sol2: /,
    );
    await expect(runTasks(['boolq'], data)).rejects.toThrow(/zeroshot\/boolq\.jsonl line 2 is not JSON/);
    await expect(runTasks(['arc_easy'], data)).rejects.toThrow(
      /zeroshot\/arc_easy\.jsonl, line 1: not a valid arc_easy item \(choices: the choice list is empty\)/,
    );
  });
});
