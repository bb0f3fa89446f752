// The page's state rules that need no browser: a stage's time estimate only once it has a basis (and counting down
// between reports), errors in the page's words (no class names, no flags), bits per weight explained.
import { describe, expect, it } from 'vitest';
import { advance, timeLeft } from '../../src/store/progressEstimate.ts';
import { pageError } from '../../src/store/pageWords.ts';
import { bitsNote } from '../../src/pipeline/bits.ts';
import { plannedStages } from '../../src/pipeline/types.ts';

describe('a stage estimate has a basis', () => {
  it('no estimate at the start of a stage; after one computed unit the rate of that unit; cached units move the basis', () => {
    let s = advance(undefined, { stage: 'quantize', label: 'gptq block 0/5: calibrating', fraction: 0 }, 1000);
    expect(timeLeft(s, 1500)).toBeNull();
    // a block restored from the cache took no time: it is no basis for the rate
    s = advance(s, { stage: 'quantize', label: 'gptq block 1/5 (from cache)', fraction: 0.2, fromCache: true }, 1100);
    expect(timeLeft(s, 1200)).toBeNull();
    // block 2 computed in 2 s: 3 blocks left, 6 s
    s = advance(s, { stage: 'quantize', label: 'gptq block 2/5', fraction: 0.4 }, 3100);
    expect(timeLeft(s, 3100)).toBe(6000);
    // between reports it counts down instead of growing with the wait
    expect(timeLeft(s, 4100)).toBe(5000);
    expect(timeLeft(s, 20000)).toBe(0);
    expect(s.since).toBe(1000);
  });

  it('the stages a run lists, in the order they run', () => {
    expect(plannedStages({ quantize: false, before: true, baselines: false })).toEqual(['load', 'evaluate']);
    expect(plannedStages({ quantize: true, before: true, baselines: true })).toEqual([
      'load',
      'fp',
      'quantize',
      'evaluate',
      'baselines',
    ]);
  });
});

describe("errors in the page's words", () => {
  it("no class name, no flag: the form's name for the field", () => {
    expect(pageError({ kind: 'OptionsError', message: '--groupsize 128 does not divide the q/k/v width 64' })).toBe(
      'These settings cannot run: group size 128 does not divide the q/k/v width 64',
    );
    expect(pageError({ kind: 'LabError', message: 'cannot export as gptq: LabError: block 3 is gone' })).toBe(
      'Cannot export as gptq: block 3 is gone',
    );
    expect(pageError({ kind: 'MissingFileError', message: 'http://x/: config.json not found' })).toBe(
      'A model file could not be read: http://x/: config.json not found',
    );
  });
});

describe('bits per weight explained where they surprise', () => {
  const layer = (codeBits: number, bits: number) => ({
    layer: 0,
    linear: 'q_proj',
    relError: 0,
    ms: 0,
    codeBits,
    bits,
    groups: 1,
    weights: 4096,
  });
  it('says why scales and zeros outweigh the codes, and stays silent where they do not', () => {
    expect(bitsNote([layer(4, 20)])).toBe(
      "Scales and zeros cost 16.00 bits per weight here, more than the codes: every output row stores a 16-bit scale and a 16-bit zero per group, 32/G bits per weight for groups of G columns, and these layers' groups average 2.0 columns.",
    );
    expect(bitsNote([layer(4, 4.25)])).toBeNull();
  });
});
