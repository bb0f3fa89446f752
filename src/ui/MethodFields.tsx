// The recipe in the form: a chain of methods (a transform, then a weight step), each step's options drawn from its
// schema (labels, bounds, help and defaults come from the method's own module), the shared calibration, and one-click
// presets from the methods. The first invalid combination is explained under the fields (checked against the probed
// model's widths), and Run stays disabled until it is fixed; presets that cannot run on the selected model say why.
import { useShallow } from 'zustand/react/shallow';
import { PRESETS, formRecipe, presetProblem, recipeProblem, useLab } from '../store/labStore.ts';
import { CHAINS, METHODS, chainTitle, type WeightMethod } from '../quant/index.ts';
import { calibrationOptions } from '../quant/recipe.ts';
import { optionInfos, type OptionInfo } from '../quant/options.ts';
import { CALIBRATION_SETS, calibrationKind } from '../eval/calibration.ts';
import { NumberInput } from './NumberInput.tsx';

const CAL = Object.fromEntries(optionInfos(calibrationOptions).map((o) => [o.key, o]));

/** A schema's description as the form's tooltip: the command line's own asides ("(--no-smooth: off)") left out. */
const hint = (description: string | undefined) => description?.replace(/\s*\(--[^)]*\)/g, '');

/** The calibration source: a named set, or a text URL the user typed (or confirmed, when a link brought it). */
function CalibrationField() {
  const { calib, setCalibration, calibAllowed, allowCalibration } = useLab(
    useShallow((s) => ({
      calib: s.calib,
      setCalibration: s.setCalibration,
      calibAllowed: s.calibAllowed,
      allowCalibration: s.allowCalibration,
    })),
  );
  const isUrl = calibrationKind(calib) !== 'named';
  return (
    <>
      <label title={hint(CAL.calib.description)}>
        {CAL.calib.label}{' '}
        <select
          data-testid="calib"
          value={isUrl ? 'url' : calib}
          onChange={(e) => setCalibration(e.target.value === 'url' ? 'https://' : e.target.value)}
        >
          {CALIBRATION_SETS.map((c) => (
            <option key={c}>{c}</option>
          ))}
          <option value="url">text from a URL…</option>
        </select>
      </label>
      {isUrl && (
        <>
          <input
            className="calib-url"
            data-testid="calib-url"
            value={calib}
            placeholder="https://…/calibration.txt"
            onChange={(e) => setCalibration(e.target.value)}
          />
          {!calibAllowed.includes(calib) && calib !== 'https://' && (
            <span className="confirm" data-testid="calib-confirm">
              This experiment calibrates on text fetched from <code>{calib}</code>.{' '}
              <button type="button" data-testid="calib-allow" onClick={() => allowCalibration(calib)}>
                Fetch it when I run
              </button>
            </span>
          )}
        </>
      )}
    </>
  );
}

/** One option of one step, as its schema describes it. */
function OptionField({ method, info }: { method: string; info: OptionInfo }) {
  const v = useLab((s) => s.options[method]?.[info.key]);
  const setOption = useLab((s) => s.setOption);
  const set = (x: unknown) => setOption(method, info.key, x);
  if (info.kind === 'bool') {
    const checked = Boolean(v);
    return (
      <label className="check" title={hint(info.description)}>
        <input type="checkbox" data-testid={info.key} checked={checked} onChange={(e) => set(e.target.checked)} />{' '}
        {info.label}
      </label>
    );
  }
  if (info.kind === 'enum') {
    return (
      <label title={hint(info.description)}>
        {info.label}{' '}
        <select data-testid={info.key} value={String(v)} onChange={(e) => set(e.target.value)}>
          {info.values!.map((x) => (
            <option key={x}>{x}</option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <label title={hint(info.description)}>
      {info.label}{' '}
      <NumberInput
        testid={info.key}
        optional={info.optional}
        placeholder={info.fallback}
        className={info.max !== undefined && info.max <= 1 << 16 && info.label.length < 12 ? 'narrow' : undefined}
        step={info.kind === 'number' ? '0.01' : undefined}
        value={v as number | undefined}
        onChange={set}
      />
    </label>
  );
}

/** A step's fields: every option of its method, except the group options a transform fixed. */
function StepFields({ method, fixedGroups }: { method: string; fixedGroups: boolean }) {
  const m = METHODS[method];
  const hidden = fixedGroups && m.kind === 'weight' ? (m as WeightMethod).groupOptions : [];
  return (
    <fieldset className="step" data-testid={`step-${method}`}>
      <legend title={m.summary}>
        {m.title} <span className="hint">({m.kind === 'transform' ? 'transform' : 'weights'})</span>
      </legend>
      <div className="row">
        {optionInfos(m.options)
          .filter((o) => !hidden.includes(o.key))
          .map((o) => (
            <OptionField key={o.key} method={method} info={o} />
          ))}
      </div>
      {hidden.length > 0 && (
        <p className="hint">
          Weight groups are the transform's input clusters (one scale and zero per output row × cluster).
        </p>
      )}
    </fieldset>
  );
}

export function MethodFields() {
  const { chain, setChain, applyPreset, status, nsamples, seed, hiddenLayerNum, scales16, setCalibrationField } =
    useLab(
      useShallow((s) => ({
        chain: s.chain,
        setChain: s.setChain,
        applyPreset: s.applyPreset,
        status: s.status,
        nsamples: s.nsamples,
        seed: s.seed,
        hiddenLayerNum: s.hiddenLayerNum,
        scales16: s.scales16,
        setCalibrationField: s.setCalibrationField,
      })),
    );
  const busy = status === 'running';
  // derived values as selectors: the form re-renders when they change, not on every store update (a progress tick)
  const problem = useLab(recipeProblem);
  const problems = useLab(useShallow((s) => PRESETS.map((p) => presetProblem(s, p.label))));
  const presetProblems = PRESETS.map((p, i) => ({ label: p.label, problem: problems[i] })).filter((p) => p.problem);
  const steps = useLab(useShallow((s) => formRecipe(s).steps.map((x) => x.method)));
  const fixedGroups = steps.some((n) => METHODS[n]?.kind === 'transform' && METHODS[n].fixesWeightGroups);
  return (
    <fieldset disabled={busy} data-testid="method-fields">
      <legend>Method</legend>
      <div className="row presets">
        {PRESETS.map((pr) => {
          const why = presetProblems.find((p) => p.label === pr.label)?.problem;
          return (
            <button
              key={pr.label}
              type="button"
              className="preset"
              disabled={!!why}
              title={why ?? undefined}
              data-testid={`preset-${pr.label.replace(/ /g, '-')}`}
              onClick={() => applyPreset(pr.label)}
            >
              {pr.label}
            </button>
          );
        })}
      </div>
      {presetProblems.length > 0 && (
        <p className="hint" data-testid="preset-problems">
          Not for this model:{' '}
          {presetProblems.map((p) => `${p.label} (${p.problem!.replace(/^./, (c) => c.toLowerCase())})`).join('; ')}
        </p>
      )}
      <div className="row">
        <label title="a recipe: at most one transform, then at most one weight step">
          method{' '}
          <select data-testid="method" value={chain} onChange={(e) => setChain(e.target.value)}>
            {CHAINS.map((c) => (
              <option key={c} value={c}>
                {chainTitle(c)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {steps.map((m) => (
        <StepFields key={m} method={m} fixedGroups={fixedGroups} />
      ))}
      {steps.length > 0 && (
        <div className="row">
          <CalibrationField />
          <label title={hint(CAL.nsamples.description)}>
            {CAL.nsamples.label}{' '}
            <NumberInput testid="nsamples" value={nsamples} onChange={(v) => setCalibrationField({ nsamples: v })} />
          </label>
          <label title={hint(CAL.seed.description)}>
            {CAL.seed.label}{' '}
            <NumberInput testid="seed" value={seed} onChange={(v) => setCalibrationField({ seed: v })} />
          </label>
          <label title={hint(CAL.hiddenLayerNum.description)}>
            blocks{' '}
            <NumberInput
              testid="hiddenLayerNum"
              optional
              placeholder="all"
              className="narrow"
              value={hiddenLayerNum}
              onChange={(v) => setCalibrationField({ hiddenLayerNum: v })}
            />
          </label>
          <label
            className="check"
            title={`${hint(CAL.scales16.description)}; export as gptq then loads back to this run's figure`}
          >
            <input
              type="checkbox"
              data-testid="scales16"
              checked={scales16}
              onChange={(e) => setCalibrationField({ scales16: e.target.checked })}
            />{' '}
            {CAL.scales16.label}
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
