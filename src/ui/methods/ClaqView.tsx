// CLAQ's Inspect view of one quantized layer: every column's bit width (adaptive precision) as a strip, in the
// layer's column order or sorted by outlier count, with the values each column keeps in full precision (outlier
// reservation); a column's k-means codebook drawn over the histogram of the values it was fitted on (the column as the
// feedback of the columns before it left it); and the per-layer output error of CLAQ against GPTQ at the same bits.
import { useMemo, useState } from 'react';
import type { ClaqLayerDetail } from '../../quant/claq.ts';
import { SeriesChart } from '../charts/SeriesChart.tsx';
import type { WeightViewProps } from './index.ts';

const NO_BASELINE_HINT =
  'Tick “also run the baselines” in the Experiment panel to measure GPTQ at the same code bits in the same run ' +
  'and compare every layer here.';

function BitStrip({ d }: { d: ClaqLayerDetail }) {
  const [order, setOrder] = useState<'original' | 'sorted'>('original');
  const cols = useMemo(() => {
    const idx = d.colBits.map((_, c) => c);
    // sorted: the widest columns first, then by outliers and reserved values (the adaptive ranking)
    return order === 'original'
      ? idx
      : idx.sort(
          (a, b) => d.colBits[b] - d.colBits[a] || d.outliers[b] - d.outliers[a] || d.kept[b] - d.kept[a] || a - b,
        );
  }, [d, order]);
  const x = useMemo(() => cols.map((_, i) => i), [cols]);
  const bits = useMemo(() => [{ label: 'bits', values: cols.map((c) => d.colBits[c]) }], [cols, d]);
  const kept = useMemo(
    () => [
      { label: 'reserved values', values: cols.map((c) => d.kept[c]) },
      { label: `entries ≥ 13·mean|W|`, values: cols.map((c) => d.outliers[c]) },
    ],
    [cols, d],
  );
  const wide = d.colBits.filter((b) => b === Math.max(...d.colBits)).length;
  return (
    <>
      <div className="row">
        <label>
          columns{' '}
          <select
            data-testid="claq-order"
            value={order}
            onChange={(e) => setOrder(e.target.value as 'original' | 'sorted')}
          >
            <option value="original">in the layer's order</option>
            <option value="sorted">sorted (widest, most outliers first)</option>
          </select>
        </label>
        <span className="hint" data-testid="claq-bit-summary">
          {new Set(d.colBits).size > 1
            ? `${wide} of ${d.cols} columns at ${Math.max(...d.colBits)} bits, the rest at ${Math.min(...d.colBits)}`
            : `every column at ${d.colBits[0]} bits`}
          {d.kept.some((k) => k > 0) ? `; ${d.kept.reduce((a, b) => a + b, 0)} values kept in full precision` : ''}
        </span>
      </div>
      <SeriesChart
        x={x}
        series={bits}
        xLabel={order === 'original' ? 'input column' : 'columns, sorted'}
        yLabel="bits"
        bars
        integerX
        testid="claq-bit-strip"
        height={150}
      />
      <SeriesChart
        x={x}
        series={kept}
        xLabel={order === 'original' ? 'input column' : 'columns, sorted'}
        yLabel="values"
        bars
        integerX
        testid="claq-reserved"
        height={140}
      />
    </>
  );
}

function Codebook({ d }: { d: ClaqLayerDetail }) {
  // the column with the most reserved values (or outliers) is the interesting one to start from
  const first = useMemo(
    () =>
      d.kept.reduce(
        (best, k, c) => (k > d.kept[best] || (k === d.kept[best] && d.outliers[c] > d.outliers[best]) ? c : best),
        0,
      ),
    [d],
  );
  const [pick, setPick] = useState<number | null>(null);
  const col = Math.min(pick ?? first, d.cols - 1);
  const h = d.hist[col];
  const book = d.codebooks[col];
  const { x, series } = useMemo(() => {
    const n = h.counts.length;
    const width = (h.hi - h.lo) / n || 1;
    const centers = h.counts.map((_, i) => h.lo + (i + 0.5) * width);
    const top = Math.max(...h.counts);
    // a centroid is drawn as a bar in the bin it falls in, as tall as the tallest bin
    const marks = h.counts.map(() => null as number | null);
    for (const c of book) marks[Math.min(n - 1, Math.max(0, Math.floor((c - h.lo) / width)))] = top;
    return {
      x: centers,
      series: [
        { label: 'values as clustered', values: h.counts },
        { label: 'centroids', values: marks },
      ],
    };
  }, [h, book]);
  return (
    <>
      <div className="row">
        <label>
          column{' '}
          <input
            type="number"
            data-testid="claq-column"
            min={0}
            max={d.cols - 1}
            value={col}
            onChange={(e) => setPick(Math.max(0, Math.min(d.cols - 1, Number(e.target.value) || 0)))}
          />
        </label>
        <span className="hint" data-testid="claq-codebook">
          {d.colBits[col]} bits: {book.length} centroids{' '}
          {[...book]
            .sort((a, b) => a - b)
            .map((c) => c.toPrecision(3))
            .join(', ')}
          ; {d.kept[col]} value{d.kept[col] === 1 ? '' : 's'} kept in full precision; Lloyd converged in{' '}
          {d.lloydSteps[col]} step{d.lloydSteps[col] === 1 ? '' : 's'}
        </span>
      </div>
      <SeriesChart
        x={x}
        series={series}
        xLabel={`column ${col}: value (range ${h.lo.toPrecision(3)} … ${h.hi.toPrecision(3)})`}
        yLabel="count"
        bars
        testid="claq-codebook-chart"
        height={180}
      />
    </>
  );
}

function VersusGptq({ layers, baseline, linear }: Pick<WeightViewProps, 'layers' | 'baseline'> & { linear: string }) {
  const { x, series } = useMemo(() => {
    const mine = layers.filter((l) => l.linear === linear);
    const theirs = baseline?.layers.filter((l) => l.linear === linear) ?? [];
    return {
      x: mine.map((l) => l.layer),
      series: [
        {
          label: `CLAQ (${(mine.reduce((a, l) => a + l.bits, 0) / (mine.length || 1)).toFixed(2)} bits)`,
          values: mine.map((l) => l.relError),
        },
        {
          label:
            `${baseline?.label ?? 'GPTQ'} ` +
            `(${(theirs.reduce((a, l) => a + l.bits, 0) / (theirs.length || 1)).toFixed(2)} bits)`,
          values: mine.map((l) => theirs.find((t) => t.layer === l.layer)?.relError ?? null),
          dash: true,
        },
      ],
    };
  }, [layers, baseline, linear]);
  if (!baseline) return <p className="hint">{NO_BASELINE_HINT}</p>;
  return (
    <SeriesChart
      x={x}
      series={series}
      xLabel="block"
      yLabel={`${linear}: relative output error`}
      log
      integerX
      testid="claq-vs-gptq"
      height={200}
    />
  );
}

export function ClaqView({ detail, layers, baseline, linear }: WeightViewProps) {
  const d = detail as ClaqLayerDetail;
  const { codes, codebooks, outliers } = d.parts;
  const total = codes + codebooks + outliers;
  const perWeight = (bits: number) => (bits / (d.rows * d.cols)).toFixed(3);
  return (
    <div data-testid="claq-view">
      <h4>
        Bits per weight {perWeight(total)} = {perWeight(codes)} codes + {perWeight(codebooks)} codebooks (2^bits f16
        values per column) + {perWeight(outliers)} reserved values (f16 + row index)
      </h4>
      <BitStrip d={d} />
      <h4>Codebook of one column over the values it was fitted on</h4>
      <Codebook d={d} />
      <h4>Output error of every {linear} against GPTQ</h4>
      <VersusGptq layers={layers} baseline={baseline} linear={linear} />
    </div>
  );
}
