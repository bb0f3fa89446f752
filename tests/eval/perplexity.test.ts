// Known figures (shared/README.md): stories260K in FP32, 512-token windows, BOS once at the start. tinystories-file's
// 4.0677 is checked here through the command line; tinystories' 5.8344 (all 81 windows) in the page (e2e/page.test.ts).
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MODELS, TOL } from '../helpers.ts';
import { CompensatedSum, windowsOf } from '../../src/eval/perplexity.ts';

async function cli(args: string[]): Promise<{ ppl: Record<string, number>; windows: Record<string, number> }> {
  const json = join(tmpdir(), `quantlab-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  expect(await main([...args, '--json', json])).toBe(0);
  return JSON.parse(await readFile(json, 'utf8'));
}

describe('perplexity protocol', () => {
  it('cuts floor(N / seqlen) non-overlapping windows, optionally the first k', () => {
    const ids = Uint32Array.from({ length: 1030 }, (_, i) => i);
    expect(windowsOf(ids, 512).map((w) => w[0])).toEqual([0, 512]);
    expect(windowsOf(ids, 100, 3).length).toBe(3);
  });

  it('accumulates without losing digits', () => {
    const s = new CompensatedSum();
    s.add(1e8);
    for (let i = 0; i < 1e5; i++) s.add(1e-4);
    expect(s.value).toBeCloseTo(1e8 + 10, 6);
  });

  it('stories260K tinystories-file (first 40 windows) within 0.5% of 4.0677, from the command line', async () => {
    const r = await cli([
      MODELS.stories260K,
      '--eval_ppl',
      'tinystories-file',
      '--seqlen',
      '512',
      '--eval_windows',
      '40',
    ]);
    expect(r.windows['tinystories-file']).toBe(40);
    expect(Math.abs(r.ppl['tinystories-file'] / 4.0677 - 1)).toBeLessThan(TOL.ppl);
  });

  it('opt-tiny (F16) on wikitext2, ptb, c4 and tinystories agrees with the TypeScript reference forward', async () => {
    const args = [
      MODELS.optTiny,
      '--eval_ppl',
      'wikitext2,ptb,c4,tinystories',
      '--seqlen',
      '128',
      '--eval_windows',
      '1',
    ];
    const gpu = await cli(args);
    const cpu = await cli([...args, '--backend', 'reference']);
    for (const ds of ['wikitext2', 'ptb', 'c4', 'tinystories']) {
      expect(gpu.windows[ds], ds).toBe(1);
      expect(Number.isFinite(gpu.ppl[ds]), ds).toBe(true);
      expect(Math.abs(gpu.ppl[ds] / cpu.ppl[ds] - 1), ds).toBeLessThan(TOL.ppl);
    }
  });
});
