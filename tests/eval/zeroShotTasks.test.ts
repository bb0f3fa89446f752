// Issue 13 groundwork: the task table turns each file's lines into lm-eval's items (prompts, continuations with the
// " " target delimiter, winogrande's partial contexts, lambada's split, hellaswag's preprocess), and refuses bad input
// by file and line.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkTaskName, hellaswagPreprocess, parseTask, ZERO_SHOT_TASKS } from '../../src/eval/zeroShotTasks.ts';
import { SHARED } from '../helpers.ts';

const file = (task: string) => readFileSync(`${SHARED}data/zeroshot/${task}.jsonl`, 'utf8');

describe('zero-shot task table', () => {
  it('reads the first items of every task', () => {
    for (const task of ZERO_SHOT_TASKS) {
      const items = parseTask(task, file(task), task, 20);
      expect(items).toHaveLength(20);
      for (const it of items) {
        expect(it.contexts.length).toBe(it.continuations.length);
        expect(it.gold).toBeLessThan(it.contexts.length);
        expect(it.continuations.every((c) => c.startsWith(' '))).toBe(true);
      }
    }
  });

  it('builds the prompts as lm-eval does (hand-checked items)', () => {
    const [piqa] = parseTask('piqa', file('piqa'), 'piqa', 1);
    expect(piqa.contexts[0]).toBe("Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:");
    expect(piqa.continuations[0]).toMatch(
      /^ Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper strips/,
    );
    expect(piqa.gold).toBe(0);
    const [arc] = parseTask('arc_challenge', file('arc_challenge'), 'arc', 1);
    expect(arc.contexts[0]).toBe(
      'Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most likely effect of this increase in rotation?\nAnswer:',
    );
    expect(arc.continuations[2]).toBe(' Planetary days will become shorter.');
    expect(arc.lengths[2]).toBe('Planetary days will become shorter.'.length);
    const [boolq] = parseTask('boolq', file('boolq'), 'boolq', 1);
    expect(boolq.contexts[0].startsWith('All biomass goes through')).toBe(true);
    expect(boolq.contexts[0]).toMatch(/\nQuestion: .*\?\nAnswer:$/);
    expect(boolq.continuations).toEqual([' no', ' yes']);
    const [wino] = parseTask('winogrande', file('winogrande'), 'winogrande', 1);
    expect(wino.contexts).toEqual([
      'Sarah was a much better surgeon than Maria so Sarah',
      'Sarah was a much better surgeon than Maria so Maria',
    ]);
    expect(wino.continuations).toEqual([' always got the easier cases.', ' always got the easier cases.']);
    expect(wino.gold).toBe(1);
    const [lambada] = parseTask('lambada_openai', file('lambada_openai'), 'lambada', 1);
    expect(lambada.contexts[0].endsWith("I don't care about")).toBe(true);
    expect(lambada.continuations).toEqual([' signs']);
    const [hs] = parseTask('hellaswag', file('hellaswag'), 'hellaswag', 1);
    expect(hs.contexts[0]).toBe('Roof shingle removal: A man is sitting on a roof. he');
    expect(hs.continuations[3]).toBe(' starts pulling up roofing on a roof.');
    expect(hellaswagPreprocess(' Make tea [title] Boil water. [step] Pour  it. ')).toBe(
      'Make tea. Boil water. Pour it.',
    );
  });

  it('refuses bad input with a specific error', () => {
    expect(() => checkTaskName('mmlu')).toThrow(/unknown task "mmlu"; the lab scores lambada_openai, piqa/);
    expect(() =>
      parseTask('piqa', file('piqa').split('\n').slice(0, 2).join('\n') + '\n{"goal": "x"', 'piqa.jsonl'),
    ).toThrow(/piqa\.jsonl, line 3: not a valid piqa item/);
    expect(() => parseTask('arc_easy', '{"query": "Question: q", "choices": [], "gold": 0}', 'arc_easy.jsonl')).toThrow(
      /arc_easy\.jsonl, line 1: not a valid arc_easy item \(choices: /,
    );
    expect(() => parseTask('piqa', file('piqa'), 'piqa', 0)).toThrow(/--limit must be a positive integer \(got 0\)/);
    expect(() => parseTask('boolq', '\n\n', 'boolq.jsonl')).toThrow(/has no boolq items/);
  });
});
