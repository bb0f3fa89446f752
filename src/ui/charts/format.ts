// Number formats shared by the charts' axes, read-outs and number tables (no React or uPlot here, so the tables'
// tests and the charts import them without a cycle).

/** 3.2e-5, 0.012, 4.1: log-axis ticks and read-outs that never round a small error to "0" */
export function fmtSci(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 0.01 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(1);
}

/** A table cell: integers in full, small values in scientific notation, the rest to four significant digits; a
 *  missing value is an empty cell. */
export function fmtCell(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a < 0.01) return fmtSci(v);
  return a < 1e6 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
}

/** A chart's numbers as text: column heads, then rows whose first cell names the row. */
export interface TableData {
  head: string[];
  rows: string[][];
  /** what was left out, when the table is cut */
  note?: string;
}
