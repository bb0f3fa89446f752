// A share link's experiment, restored into the form, with its figures; it offers to run, never runs by itself.
// A damaged link says what is wrong and the page stays as it was.
import { useLab } from '../store/labStore.ts';
import { describeSpec } from '../pipeline/experimentSpec.ts';

export function LinkBanner() {
  const { shared, linkError, dismissLink, run, status, addShared } = useLab();
  if (linkError) {
    return (
      <section className="panel banner error-banner" role="alert" data-testid="link-error">
        <strong>This share link could not be opened:</strong> {linkError}. Nothing was changed.{' '}
        <button onClick={dismissLink}>Dismiss</button>
      </section>
    );
  }
  if (!shared) return null;
  return (
    <section className="panel banner" data-testid="link-banner">
      <strong>Shared experiment</strong> (restored into the form below): <span data-testid="link-config">{describeSpec(shared.spec)}</span>
      {shared.results && (
        <table data-testid="shared-results">
          <thead>
            <tr>
              <th>dataset</th>
              {shared.results.pplBefore && <th>FP</th>}
              <th>{shared.results.label}</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(shared.results.ppl).map(([ds, v]) => (
              <tr key={ds}>
                <td>{ds}</td>
                {shared.results!.pplBefore && <td>{shared.results!.pplBefore[ds as keyof typeof shared.results.ppl]?.toFixed(4) ?? ''}</td>}
                <td data-testid={`shared-ppl-${ds}`}>{v!.toFixed(4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shared.results?.device && <p className="hint">measured on {shared.results.device}</p>}
      <div className="row">
        <button data-testid="link-rerun" disabled={status === 'running'} onClick={() => void run()}>
          Re-run it here
        </button>
        {shared.results && <button onClick={() => addShared(shared.spec, shared.results!)}>Add the shared figures to my results</button>}
        <button onClick={dismissLink}>Dismiss</button>
      </div>
    </section>
  );
}
