// Chart read-outs that cannot be read off a canvas: a log axis labels its decades in scientific notation and never
// rounds a small error to "0"; hover read-outs keep two significant digits.
import { describe, expect, it } from 'vitest';
import { fmtSci, logAxisLabels } from '../../src/ui/charts/SeriesChart.tsx';

describe('log-axis labels and read-outs', () => {
  it('decades in scientific notation, the ticks between them blank, small errors never "0"', () => {
    expect(logAxisLabels([1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 1e-4, 1e-3])).toEqual(['1.0e-6', '', '', '1.0e-5', '', '1.0e-4', '1.0e-3']);
    expect(fmtSci(4.2e-5)).toBe('4.2e-5');
    expect(fmtSci(0.0123)).toBe('0.0123');
    expect(fmtSci(0.5)).toBe('0.5');
    expect(fmtSci(null)).toBe('—');
  });
});
