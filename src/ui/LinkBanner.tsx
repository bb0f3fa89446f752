// A share link's experiment, shown in the form, with its figures; it offers to run, never runs by itself, and the
// form becomes the user's own only when they take it (re-run or "use these settings"; dismiss puts theirs back).
// Before a re-run it says what the link would make the page do that the user must agree to (read a model URL or fetch
// a calibration URL, shown in full) or provide (the folder of a local-files model), and what the checked model cannot
// run. A damaged link says what is wrong and the page stays as it was.
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { runBlocker } from '../store/runGate.ts';
import { describeModel, describeSpec } from '../pipeline/experimentSpec.ts';
import { calibrationKind } from '../eval/calibration.ts';

export function LinkBanner() {
  const {
    shared,
    linkError,
    dismissLink,
    run,
    status,
    addShared,
    chain,
    calib,
    calibAllowed,
    allowCalibration,
    acceptLink,
    formBeforeLink,
    checking,
    modelNeedsConsent,
    probeModel,
  } = useLab(
    useShallow((s) => ({
      shared: s.shared,
      linkError: s.linkError,
      dismissLink: s.dismissLink,
      run: s.run,
      status: s.status,
      addShared: s.addShared,
      chain: s.chain,
      calib: s.calib,
      calibAllowed: s.calibAllowed,
      allowCalibration: s.allowCalibration,
      acceptLink: s.acceptLink,
      formBeforeLink: s.formBeforeLink,
      checking: s.probe.status === 'loading',
      modelNeedsConsent: s.modelNeedsConsent,
      probeModel: s.probeModel,
    })),
  );
  const problem = useLab(runBlocker);
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
  return (
    <section className="panel banner" data-testid="link-banner">
      <strong>Shared experiment</strong> (shown in the form):{' '}
      <span data-testid="link-config">{describeSpec(shared.spec)}</span>
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
                {shared.results!.pplBefore && (
                  <td>{shared.results!.pplBefore[ds as keyof typeof shared.results.ppl]?.toFixed(4) ?? ''}</td>
                )}
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
              <th>n-shot</th>
              <th>items</th>
              {shared.results.tasksBefore && <th>FP acc</th>}
              <th>acc</th>
              {shared.results.tasksBefore && <th>FP acc_norm</th>}
              <th>acc_norm</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(shared.results.tasks).map(([task, t]) => (
              <tr key={task}>
                <td>{task}</td>
                <td>0</td>
                <td>{t!.items}</td>
                {shared.results!.tasksBefore && (
                  <td>
                    {shared.results!.tasksBefore[task as keyof typeof shared.results.tasks]?.acc.toFixed(4) ?? ''}
                  </td>
                )}
                <td data-testid={`shared-acc-${task}`}>{t!.acc.toFixed(4)}</td>
                {shared.results!.tasksBefore && (
                  <td data-testid={`shared-fp-acc_norm-${task}`}>
                    {shared.results!.tasksBefore[task as keyof typeof shared.results.tasks]?.accNorm?.toFixed(4) ?? ''}
                  </td>
                )}
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
          This experiment calibrates on text fetched from <code>{calibUrl}</code>. The page fetches nothing until you
          allow it.{' '}
          <button data-testid="link-calib-allow" onClick={() => allowCalibration(calibUrl)}>
            Allow fetching it
          </button>
        </p>
      )}
      {modelNeedsConsent && (
        <p className="confirm" data-testid="link-model-confirm">
          This experiment's model is at <code>{describeModel(shared.spec.model)}</code>. The page reads nothing from it
          until you allow it.{' '}
          <button data-testid="link-model-allow" onClick={() => void probeModel()}>
            Read its config.json and headers
          </button>
        </p>
      )}
      {problem && !calibUrl && !modelNeedsConsent && (
        <p className={checking ? 'hint' : 'error'} data-testid="link-problem">
          {problem}
        </p>
      )}
      <div className="row">
        <button data-testid="link-rerun" disabled={status === 'running' || problem !== null} onClick={() => void run()}>
          Re-run it here
        </button>
        {formBeforeLink && (
          <button
            data-testid="link-accept"
            onClick={acceptLink}
            title="keep this experiment as your form (this browser remembers it across reloads and tabs)"
          >
            Use these settings
          </button>
        )}
        {shared.results && (
          <button onClick={() => addShared(shared.spec, shared.results!)}>Add the shared figures to my results</button>
        )}
        <button data-testid="link-dismiss" onClick={dismissLink}>
          Dismiss{formBeforeLink ? ' (back to my settings)' : ''}
        </button>
      </div>
      {formBeforeLink && (
        <p className="hint" data-testid="link-not-saved">
          Your own settings are kept as they were until you re-run this experiment or use its settings.
        </p>
      )}
    </section>
  );
}
