// Method and options (RTN, GPTQ, RPTQ), with one-click presets for the seed tables' rows; the first invalid
// combination is explained under the fields, and Run stays disabled until it is fixed.
import { PRESETS, recipeProblem, useLab } from '../store/labStore.ts';
import { METHODS, type QuantRecipe } from '../quant/recipe.ts';
import { CALIBRATION_SETS } from '../eval/calibration.ts';
import { CLUSTERINGS, type ReorderPoint } from '../quant/rptq.ts';

const METHOD_NAMES: Record<string, string> = { fp: 'full precision', rtn: 'RTN', gptq: 'GPTQ', rptq: 'RPTQ' };
const CLUSTERING_NAMES: Record<string, string> = { kmeans: 'k-means clusters + reorder (RPTQ)', contiguous: 'contiguous groups (baseline)', tensor: 'per tensor (baseline)' };

export function MethodFields() {
  const state = useLab();
  const { recipe: r, setRecipe, applyPreset, status } = state;
  const busy = status === 'running';
  const problem = recipeProblem(state);
  const num = (v: string) => (v === '' ? NaN : Number(v));
  const optNum = (v: string) => (v === '' ? undefined : Number(v));
  const check = (key: keyof QuantRecipe, label: string) => (
    <label className="check">
      <input type="checkbox" data-testid={String(key)} checked={Boolean(r[key])} onChange={(e) => setRecipe({ [key]: e.target.checked })} /> {label}
    </label>
  );
  return (
    <fieldset disabled={busy} data-testid="method-fields">
      <legend>Method</legend>
      <div className="row presets">
        {PRESETS.map((pr) => (
          <button key={pr.label} type="button" className="preset" data-testid={`preset-${pr.label.replace(/ /g, '-')}`} onClick={() => applyPreset(pr.label)}>
            {pr.label}
          </button>
        ))}
      </div>
      <div className="row">
        <label>
          method{' '}
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
            <label>
              wbits <input type="number" data-testid="wbits" value={r.wbits} onChange={(e) => setRecipe({ wbits: num(e.target.value) })} />
            </label>
            {r.method !== 'rptq' && (
              <label title="columns per group; −1 = one group per row">
                group (−1 = row) <input type="number" data-testid="groupsize" value={r.groupsize} onChange={(e) => setRecipe({ groupsize: num(e.target.value) })} />
              </label>
            )}
            {check('sym', 'sym')}
          </>
        )}
      </div>
      {(r.method === 'gptq' || r.method === 'rptq') && (
        <div className="row">
          {check('actOrder', 'act-order')}
          {r.method === 'gptq' && check('staticGroups', 'static groups')}
          {check('trueSequential', 'true-sequential')}
          <label>
            damp <input type="number" step="0.01" value={r.percdamp} onChange={(e) => setRecipe({ percdamp: num(e.target.value) })} />
          </label>
        </div>
      )}
      {r.method === 'rptq' && (
        <>
          <div className="row">
            <label>
              abits <input type="number" data-testid="abits" value={r.abits} onChange={(e) => setRecipe({ abits: num(e.target.value) })} />
            </label>
            {check('onlyQuantKv', 'only the K/V cache')}
            <label title="norm outputs (inputs of q/k/v and fc1); blank = max(8, abits)">
              norm bits <input type="number" data-testid="normBits" placeholder={String(Math.max(8, r.abits))} value={r.normBits ?? ''} onChange={(e) => setRecipe({ normBits: optNum(e.target.value) })} />
            </label>
            <label title="attention probabilities; blank = max(8, abits)">
              prob bits <input type="number" data-testid="probBits" placeholder={String(Math.max(8, r.abits))} value={r.probBits ?? ''} onChange={(e) => setRecipe({ probBits: optNum(e.target.value) })} />
            </label>
          </div>
          <div className="row">
            <span>clusters</span>
            {(['R1', 'R2', 'R3', 'R4', 'R5'] as ReorderPoint[]).map((p) => (
              <label key={p} title={p === 'R2' || p === 'R3' ? 'per head' : undefined}>
                {p} <input type="number" data-testid={`clusters-${p}`} className="narrow" value={r.clusters[p]} onChange={(e) => setRecipe({ clusters: { ...r.clusters, [p]: num(e.target.value) } })} />
              </label>
            ))}
            <label>
              restarts <input type="number" className="narrow" value={r.kmeansRestarts} onChange={(e) => setRecipe({ kmeansRestarts: num(e.target.value) })} />
            </label>
          </div>
          <div className="row">
            <label>
              channel grouping{' '}
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
          <label>
            calibration{' '}
            <select data-testid="calib" value={r.calib} onChange={(e) => setRecipe({ calib: e.target.value })}>
              {CALIBRATION_SETS.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label>
            nsamples <input type="number" data-testid="nsamples" value={r.nsamples} onChange={(e) => setRecipe({ nsamples: num(e.target.value) })} />
          </label>
          <label>
            seed <input type="number" data-testid="seed" value={r.seed} onChange={(e) => setRecipe({ seed: num(e.target.value) })} />
          </label>
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
