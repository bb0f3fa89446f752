// The zero-shot tasks of a run (lm-evaluation-harness's names and protocol): the seed papers' six as a preset, each
// task with its size, and the items scored per task (the first N; blank = the whole split).
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { SEED_TASKS, TASKS, ZERO_SHOT_TASKS } from '../eval/zeroShotTasks.ts';

export function TaskPicker() {
  const { tasks, limit, setExperiment, status } = useLab(
    useShallow((s) => ({ tasks: s.tasks, limit: s.limit, setExperiment: s.setExperiment, status: s.status })),
  );
  const busy = status === 'running';
  const pick = (next: string[]) => setExperiment({ tasks: ZERO_SHOT_TASKS.filter((t) => next.includes(t)) });
  return (
    <fieldset disabled={busy} data-testid="tasks">
      <legend>Zero-shot tasks (lm-eval)</legend>
      <div className="row">
        <button type="button" data-testid="tasks-seed" onClick={() => pick(SEED_TASKS)}>
          seed tasks
        </button>
        <button type="button" onClick={() => pick([...ZERO_SHOT_TASKS])}>
          all eight
        </button>
        <button type="button" onClick={() => pick([])}>
          none
        </button>
      </div>
      {ZERO_SHOT_TASKS.map((t) => (
        <label key={t} className="check" title={`${TASKS[t].size} items; metrics ${TASKS[t].metrics.join(', ')}`}>
          <input
            type="checkbox"
            data-testid={`task-${t}`}
            checked={tasks.includes(t)}
            onChange={(e) => pick(e.target.checked ? [...tasks, t] : tasks.filter((x) => x !== t))}
          />
          {t}{' '}
          <span className="hint">
            {limit !== null && limit < TASKS[t].size ? `${limit} of ${TASKS[t].size}` : TASKS[t].size}
          </span>
        </label>
      ))}
      <label>
        items per task (blank = all){' '}
        <input
          type="number"
          data-testid="task-limit"
          min={1}
          value={limit ?? ''}
          onChange={(e) =>
            setExperiment({ limit: e.target.value === '' ? null : Math.max(1, Math.round(Number(e.target.value))) })
          }
        />
      </label>
    </fieldset>
  );
}
