// Method and options (RTN, GPTQ); the first invalid combination is explained under the fields.
import { useLab, recipeProblem } from '../store/labStore.ts';
import { METHODS } from '../quant/recipe.ts';
import { CALIBRATION_SETS } from '../eval/calibration.ts';

const PRESETS = [
  { label: 'GPTQ W4 g128', p: { method: 'gptq', wbits: 4, groupsize: 128 } },
  { label: 'GPTQ W3 g128', p: { method: 'gptq', wbits: 3, groupsize: 128 } },
  { label: 'GPTQ W4', p: { method: 'gptq', wbits: 4, groupsize: -1 } },
  { label: 'RTN W4', p: { method: 'rtn', wbits: 4, groupsize: -1 } },
] as const;

export function MethodFields() {
  const state = useLab();
  const { recipe: r, setRecipe, status } = state;
  const busy = status === 'running';
  const problem = recipeProblem(state);
  const num = (v: string) => (v === '' ? NaN : Number(v));
  return (
    <fieldset disabled={busy} data-testid="method-fields">
      <legend>Method</legend>
      <div className="row">
        {PRESETS.map((pr) => (
          <button key={pr.label} type="button" className="preset" onClick={() => setRecipe({ ...pr.p })}>
            {pr.label}
          </button>
        ))}
      </div>
      <div className="row">
        <label>
          method{' '}
          <select data-testid="method" value={r.method} onChange={(e) => setRecipe({ method: e.target.value as (typeof METHODS)[number] })}>
            {METHODS.map((m) => (
              <option key={m} value={m}>
                {m === 'fp' ? 'full precision' : m.toUpperCase()}
              </option>
            ))}
          </select>
        </label>
        {r.method !== 'fp' && (
          <>
            <label>
              wbits <input type="number" data-testid="wbits" value={r.wbits} onChange={(e) => setRecipe({ wbits: num(e.target.value) })} />
            </label>
            <label title="columns per group; −1 = one group per row">
              group (−1 = row) <input type="number" data-testid="groupsize" value={r.groupsize} onChange={(e) => setRecipe({ groupsize: num(e.target.value) })} />
            </label>
            <label className="check">
              <input type="checkbox" checked={r.sym} onChange={(e) => setRecipe({ sym: e.target.checked })} /> sym
            </label>
          </>
        )}
      </div>
      {r.method === 'gptq' && (
        <div className="row">
          <label className="check">
            <input type="checkbox" checked={r.actOrder} onChange={(e) => setRecipe({ actOrder: e.target.checked })} /> act-order
          </label>
          <label className="check">
            <input type="checkbox" checked={r.staticGroups} onChange={(e) => setRecipe({ staticGroups: e.target.checked })} /> static groups
          </label>
          <label className="check">
            <input type="checkbox" checked={r.trueSequential} onChange={(e) => setRecipe({ trueSequential: e.target.checked })} /> true-sequential
          </label>
          <label>
            damp <input type="number" step="0.01" value={r.percdamp} onChange={(e) => setRecipe({ percdamp: num(e.target.value) })} />
          </label>
        </div>
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
