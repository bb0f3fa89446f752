// Method and options (RTN, GPTQ, RPTQ), with one-click presets for the seed tables' rows; the first invalid
// combination is explained under the fields (checked against the probed model's widths), and Run stays disabled
// until it is fixed. Presets that cannot run on the selected model say why.
import { PRESETS, presetProblem, recipeProblem, useLab } from '../store/labStore.ts';
import { FORM_WORDS, METHODS, type QuantRecipe } from '../quant/recipe.ts';
import { CALIBRATION_SETS, calibrationKind } from '../eval/calibration.ts';
import { CLUSTERINGS, type ReorderPoint } from '../quant/rptq.ts';
import { NumberInput } from './NumberInput.tsx';

const METHOD_NAMES: Record<string, string> = { fp: 'full precision', rtn: 'RTN', gptq: 'GPTQ', rptq: 'RPTQ' };
const CLUSTERING_NAMES: Record<string, string> = { kmeans: 'k-means clusters + reorder (RPTQ)', contiguous: 'contiguous groups (baseline)', tensor: 'per tensor (baseline)' };

/** The calibration source: a named set, or a text URL the user typed (or confirmed, when a link brought it). */
function CalibrationField() {
  const { recipe: r, setCalibration, calibAllowed, allowCalibration } = useLab();
  const kind = calibrationKind(r.calib);
  const isUrl = kind !== 'named';
  return (
    <>
      <label>
        {FORM_WORDS.calib}{' '}
        <select data-testid="calib" value={isUrl ? 'url' : r.calib} onChange={(e) => setCalibration(e.target.value === 'url' ? 'https://' : e.target.value)}>
          {CALIBRATION_SETS.map((c) => (
            <option key={c}>{c}</option>
          ))}
          <option value="url">text from a URL…</option>
        </select>
      </label>
      {isUrl && (
        <>
          <input className="calib-url" data-testid="calib-url" value={r.calib} placeholder="https://…/calibration.txt" onChange={(e) => setCalibration(e.target.value)} />
          {!calibAllowed.includes(r.calib) && r.calib !== 'https://' && (
            <span className="confirm" data-testid="calib-confirm">
              This experiment calibrates on text fetched from <code>{r.calib}</code>.{' '}
              <button type="button" data-testid="calib-allow" onClick={() => allowCalibration(r.calib)}>
                Fetch it when I run
              </button>
            </span>
          )}
        </>
      )}
    </>
  );
}

export function MethodFields() {
  const state = useLab();
  const { recipe: r, setRecipe, applyPreset, status } = state;
  const busy = status === 'running';
  const problem = recipeProblem(state);
  const presetProblems = PRESETS.map((p) => ({ label: p.label, problem: presetProblem(state, p.label) })).filter((p) => p.problem);
  const check = (key: keyof QuantRecipe, label: string) => (
    <label className="check">
      <input type="checkbox" data-testid={String(key)} checked={Boolean(r[key])} onChange={(e) => setRecipe({ [key]: e.target.checked })} /> {label}
    </label>
  );
  const num = (key: 'wbits' | 'groupsize' | 'abits' | 'nsamples' | 'seed' | 'percdamp' | 'kmeansRestarts', label: string, extra: { step?: string; narrow?: boolean; title?: string } = {}) => (
    <label title={extra.title}>
      {label} <NumberInput testid={key} value={r[key]} step={extra.step} className={extra.narrow ? 'narrow' : undefined} onChange={(v) => setRecipe({ [key]: v })} />
    </label>
  );
  return (
    <fieldset disabled={busy} data-testid="method-fields">
      <legend>Method</legend>
      <div className="row presets">
        {PRESETS.map((pr) => {
          const why = presetProblems.find((p) => p.label === pr.label)?.problem;
          return (
            <button key={pr.label} type="button" className="preset" disabled={!!why} title={why ?? undefined} data-testid={`preset-${pr.label.replace(/ /g, '-')}`} onClick={() => applyPreset(pr.label)}>
              {pr.label}
            </button>
          );
        })}
      </div>
      {presetProblems.length > 0 && (
        <p className="hint" data-testid="preset-problems">
          Not for this model: {presetProblems.map((p) => `${p.label} (${p.problem!.replace(/^./, (c) => c.toLowerCase())})`).join('; ')}
        </p>
      )}
      <div className="row">
        <label>
          {FORM_WORDS.method}{' '}
          <select data-testid="method" value={r.method} onChange={(e) => setRecipe({ method: e.target.value as QuantRecipe['method'] })}>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {METHOD_NAMES[m]}
              </option>
            ))}
          </select>
        </label>
        {r.method !== 'fp' && (
          <>
            {num('wbits', FORM_WORDS.wbits)}
            {r.method !== 'rptq' && num('groupsize', FORM_WORDS.groupsize, { title: 'columns per group; −1 = one group per row' })}
            {check('sym', FORM_WORDS.sym)}
          </>
        )}
      </div>
      {(r.method === 'gptq' || r.method === 'rptq') && (
        <div className="row">
          {check('actOrder', FORM_WORDS['act-order'])}
          {r.method === 'gptq' && check('staticGroups', FORM_WORDS['static-groups'])}
          {check('trueSequential', FORM_WORDS['true-sequential'])}
          {num('percdamp', FORM_WORDS.percdamp, { step: '0.01' })}
        </div>
      )}
      {r.method === 'rptq' && (
        <>
          <div className="row">
            {num('abits', FORM_WORDS.abits)}
            {check('onlyQuantKv', 'only the K/V cache')}
            <label title="norm outputs (inputs of q/k/v and fc1); blank = max(8, abits)">
              {FORM_WORDS.norm_bits} <NumberInput testid="normBits" optional placeholder={String(Math.max(8, r.abits))} value={r.normBits} onChange={(v) => setRecipe({ normBits: v })} />
            </label>
            <label title="attention probabilities; blank = max(8, abits)">
              {FORM_WORDS.prob_bits} <NumberInput testid="probBits" optional placeholder={String(Math.max(8, r.abits))} value={r.probBits} onChange={(v) => setRecipe({ probBits: v })} />
            </label>
          </div>
          <div className="row">
            <span>clusters</span>
            {(['R1', 'R2', 'R3', 'R4', 'R5'] as ReorderPoint[]).map((p) => (
              <label key={p} title={p === 'R2' || p === 'R3' ? 'per head' : undefined}>
                {p} <NumberInput testid={`clusters-${p}`} className="narrow" value={r.clusters[p]} onChange={(v) => setRecipe({ clusters: { ...r.clusters, [p]: v } })} />
              </label>
            ))}
            {num('kmeansRestarts', FORM_WORDS.kmeans_restarts, { narrow: true })}
          </div>
          <div className="row">
            <label>
              {FORM_WORDS.clustering}{' '}
              <select data-testid="clustering" value={r.clustering} onChange={(e) => setRecipe({ clustering: e.target.value as QuantRecipe['clustering'] })}>
                {CLUSTERINGS.map((c) => (
                  <option key={c} value={c}>
                    {CLUSTERING_NAMES[c]}
                  </option>
                ))}
              </select>
            </label>
          </div>
        </>
      )}
      {r.method !== 'fp' && (
        <div className="row">
          <CalibrationField />
          {num('nsamples', FORM_WORDS.nsamples)}
          {num('seed', FORM_WORDS.seed)}
        </div>
      )}
      {problem && (
        <p className="field-error" data-testid="form-problem">
          {problem}
        </p>
      )}
    </fieldset>
  );
}
