// A share link's experiment, restored into the form, with its figures; it offers to run, never runs by itself.
// Before a re-run it says what the link would make the page do that the user must agree to (fetch a calibration
// URL, shown in full) or provide (the folder of a local-files model). A damaged link says what is wrong and the page
// stays as it was.
import { recipeProblem, useLab } from '../store/labStore.ts';
import { describeSpec } from '../pipeline/experimentSpec.ts';
import { calibrationKind } from '../eval/calibration.ts';

export function LinkBanner() {
  const state = useLab();
  const { shared, linkError, dismissLink, run, status, addShared, chain, calib, calibAllowed, allowCalibration } = state;
  if (linkError) {
    return (
      <section className="panel banner error-banner" role="alert" data-testid="link-error">
        <strong>This share link could not be opened:</strong> {linkError}. Nothing was changed.{' '}
        <button onClick={dismissLink}>Dismiss</button>
      </section>
    );
  }
  if (!shared) return null;
  const calibUrl = chain !== 'fp' && calibrationKind(calib) === 'url' && !calibAllowed.includes(calib) ? calib : null;
  const problem = recipeProblem(state);
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
      {shared.results?.tasks && (
        <table data-testid="shared-tasks">
          <thead>
            <tr>
              <th>task</th>
              <th>items</th>
              {shared.results.tasksBefore && <th>FP acc</th>}
              <th>acc</th>
              <th>acc_norm</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(shared.results.tasks).map(([task, t]) => (
              <tr key={task}>
                <td>{task}</td>
                <td>{t!.items}</td>
                {shared.results!.tasksBefore && <td>{shared.results!.tasksBefore[task as keyof typeof shared.results.tasks]?.acc.toFixed(4) ?? ''}</td>}
                <td data-testid={`shared-acc-${task}`}>{t!.acc.toFixed(4)}</td>
                <td>{t!.accNorm?.toFixed(4) ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {shared.results?.device && <p className="hint">measured on {shared.results.device}</p>}
      {shared.results?.warnings?.map((w) => (
        <p key={w} className="error">
          ⚠ {w}
        </p>
      ))}
      {calibUrl && (
        <p className="confirm" data-testid="link-calib-confirm">
          This experiment calibrates on text fetched from <code>{calibUrl}</code>. The page fetches nothing until you allow it.{' '}
          <button data-testid="link-calib-allow" onClick={() => allowCalibration(calibUrl)}>
            Allow fetching it
          </button>
        </p>
      )}
      {problem && !calibUrl && (
        <p className="error" data-testid="link-problem">
          {problem}
        </p>
      )}
      <div className="row">
        <button data-testid="link-rerun" disabled={status === 'running' || problem !== null} onClick={() => void run()}>
          Re-run it here
        </button>
        {shared.results && <button onClick={() => addShared(shared.spec, shared.results!)}>Add the shared figures to my results</button>}
        <button onClick={dismissLink}>Dismiss</button>
      </div>
    </section>
  );
}
