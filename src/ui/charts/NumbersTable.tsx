// The numbers behind a chart as a table, for screen readers and for reading exact values; built only while its
// details are open (a 10,000-channel chart would otherwise put tens of thousands of cells in the page).
import { useMemo, useState } from 'react';
import type { TableData } from './format.ts';

export function NumbersTable({ testid, build }: { testid: string; build: () => TableData }) {
  const [open, setOpen] = useState(false);
  const table = useMemo(() => (open ? build() : null), [open, build]);
  return (
    <details
      className="chart-numbers"
      data-testid={`${testid}-numbers`}
      onToggle={(e) => setOpen(e.currentTarget.open)}
    >
      <summary>Numbers (table)</summary>
      {table && (
        <>
          {table.note && <p className="chart-note">{table.note}</p>}
          <div className="chart-numbers-scroll">
            <table data-testid={`${testid}-table`}>
              <thead>
                <tr>
                  {table.head.map((h, i) => (
                    <th key={i} scope="col">
                      {h}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {table.rows.map((r, i) => (
                  <tr key={i}>
                    {r.map((c, j) =>
                      j === 0 ? (
                        <th key={j} scope="row">
                          {c}
                        </th>
                      ) : (
                        <td key={j}>{c}</td>
                      ),
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </details>
  );
}
