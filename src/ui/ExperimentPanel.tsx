// What to run and what to measure: the method (MethodFields), the perplexity datasets and windows, the zero-shot tasks.
import { useShallow } from 'zustand/react/shallow';
import { DATASETS, useLab } from '../store/labStore.ts';
import { MethodFields } from './MethodFields.tsx';
import { NumberInput } from './NumberInput.tsx';
import { baselineNames } from '../quant/baselines.ts';
import { TaskPicker } from './TaskPicker.tsx';

export function ExperimentPanel() {
  const { datasets, seqlen, windows, baselines, chain, dataBase, setExperiment, status } = useLab(
    useShallow((s) => ({
      datasets: s.datasets,
      seqlen: s.seqlen,
      windows: s.windows,
      baselines: s.baselines,
      chain: s.chain,
      dataBase: s.dataBase,
      setExperiment: s.setExperiment,
      status: s.status,
    })),
  );
  const offered = baselineNames(chain);
  const busy = status === 'running';
  const seqlenError = !Number.isInteger(seqlen) || seqlen < 2 ? 'seqlen must be an integer ≥ 2' : '';
  return (
    <section className="panel">
      <h2>Experiment</h2>
      <MethodFields />
      <fieldset disabled={busy} data-testid="datasets">
        <legend>Perplexity datasets</legend>
        {DATASETS.map((d) => (
          <label key={d} className="check">
            <input
              type="checkbox"
              checked={datasets.includes(d)}
              onChange={(e) =>
                setExperiment({ datasets: e.target.checked ? [...datasets, d] : datasets.filter((x) => x !== d) })
              }
            />
            {d}
          </label>
        ))}
      </fieldset>
      <div className="row">
        <label>
          seqlen{' '}
          <NumberInput testid="seqlen" value={seqlen} disabled={busy} onChange={(v) => setExperiment({ seqlen: v })} />
        </label>
        <label>
          windows (blank = all){' '}
          <input
            type="number"
            data-testid="windows"
            min={1}
            value={windows ?? ''}
            disabled={busy}
            onChange={(e) =>
              setExperiment({ windows: e.target.value === '' ? null : Math.max(1, Number(e.target.value)) })
            }
          />
        </label>
      </div>
      {seqlenError && <p className="field-error">{seqlenError}</p>}
      <TaskPicker />
      {offered.length > 0 && (
        <label className="check">
          <input
            type="checkbox"
            data-testid="baselines"
            checked={baselines}
            disabled={busy}
            onChange={(e) => setExperiment({ baselines: e.target.checked })}
          />
          also run the baselines in the same run ({offered.join(', ')})
        </label>
      )}
      <label>
        data folder URL{' '}
        <input
          data-testid="data-base"
          value={dataBase}
          disabled={busy}
          onChange={(e) => setExperiment({ dataBase: e.target.value })}
        />
      </label>
    </section>
  );
}
