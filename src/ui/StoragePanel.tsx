// What the lab keeps in this browser (IndexedDB): usage against the quota, entries per model, and clear buttons.
import { useEffect } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { fmtBytes } from '../gpu/gpu.ts';
import type { CacheMeta } from '../pipeline/cache.ts';

const KIND_NAMES: Record<CacheMeta['kind'], string> = {
  bytes: 'model bytes',
  calib: 'calibration windows',
  block: 'quantized blocks',
  result: 'results',
};
/** what one entry of a kind is, counted in the table's cells */
const ENTRY_NAMES: Record<CacheMeta['kind'], [string, string]> = {
  bytes: ['range of model bytes', 'ranges of model bytes'],
  calib: ['set of calibration windows', 'sets of calibration windows'],
  block: ['quantized block', 'quantized blocks'],
  result: ['result', 'results'],
};

export function StoragePanel() {
  const { storage, refreshStorage, clearStorage, status } = useLab(
    useShallow((s) => ({
      storage: s.storage,
      refreshStorage: s.refreshStorage,
      clearStorage: s.clearStorage,
      status: s.status,
    })),
  );
  useEffect(() => {
    if (status !== 'running') void refreshStorage();
  }, [status, refreshStorage]);
  const byModel = new Map<string, CacheMeta[]>();
  for (const e of storage.entries) byModel.set(e.model, [...(byModel.get(e.model) ?? []), e]);
  return (
    <section className="panel" data-testid="storage-panel">
      <h2>Storage</h2>
      <p className="hint">
        Downloaded model bytes, calibration windows, quantized blocks and results stay in this browser, so a reload
        resumes a run and an identical experiment is instant. Blocks and results stored by an older version of the lab
        (before recipes of steps) are not read again; clear them to free their space.
      </p>
      <p data-testid="storage-usage">
        {storage.usage !== undefined
          ? `${fmtBytes(storage.usage)} used of ${fmtBytes(storage.quota ?? 0)} this site may use`
          : 'usage unknown'}
        {storage.error && <span className="error"> ({storage.error})</span>}
      </p>
      {byModel.size > 0 && (
        <table data-testid="storage-table" className="storage-table">
          <thead>
            <tr>
              <th>model</th>
              <th>kept in this browser</th>
              <th>
                <span className="visually-hidden">clear</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {[...byModel].map(([model, entries]) => (
              <tr key={model}>
                <td>{model}</td>
                <td>
                  {(Object.keys(KIND_NAMES) as CacheMeta['kind'][]).map((k) => {
                    const of = entries.filter((e) => e.kind === k);
                    return of.length ? (
                      <div key={k} title={KIND_NAMES[k]}>
                        {of.length} {ENTRY_NAMES[k][of.length === 1 ? 0 : 1]},{' '}
                        {fmtBytes(of.reduce((s, e) => s + e.bytes, 0))}
                      </div>
                    ) : null;
                  })}
                </td>
                <td>
                  <button
                    disabled={status === 'running'}
                    onClick={() => void clearStorage(model)}
                    aria-label={`clear what is kept of ${model}`}
                  >
                    Clear
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="row">
        <button onClick={() => void refreshStorage()}>Refresh</button>
        <button
          disabled={status === 'running' || byModel.size === 0}
          onClick={() => void clearStorage()}
          data-testid="clear-storage"
        >
          Clear everything
        </button>
      </div>
    </section>
  );
}
