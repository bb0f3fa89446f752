import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// The files that take minutes on SwiftShader, longest first (a fresh clone has no timing cache, and vitest would
// otherwise start the largest files first, leaving a long file alone at the end of the run).
const LONG_FIRST = [
  'tests/quant/methods.test.ts',
  'tests/quant/rptq.test.ts',
  'tests/quant/claq.test.ts',
  'tests/quant/duquant.test.ts',
  'tests/e2e/lab.test.ts',
  'tests/quant/lwc.test.ts',
  'tests/eval/perplexity.test.ts',
  'tests/eval/zeroShot.test.ts',
];

class LongFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONG_FIRST.findIndex((p) => f.moduleId.endsWith(p));
      return i < 0 ? LONG_FIRST.length : i;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f);
  }
}

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // two workers on two cores (three ran slower: SwiftShader's thread pools contend)
    maxWorkers: 2,
    sequence: { sequencer: LongFirst },
    reporters: ['default'],
  },
});
