// Zero-shot figures of a run: progress per task while it scores (items done of total, items/s, an estimate), then
// lm-eval's metrics with their standard errors, full precision and quantized side by side with the change.
import { useLab } from '../store/labStore.ts';
import type { EvalResult, TaskScore } from '../pipeline/types.ts';
import { recipeLabel } from '../quant/recipe.ts';
import { TASKS } from '../eval/zeroShotTasks.ts';

export function TaskProgress() {
  const taskProgress = useLab((s) => s.taskProgress);
  const rows = Object.entries(taskProgress);
  if (rows.length === 0) return null;
  return (
    <table className="task-progress" data-testid="task-progress">
      <tbody>
        {rows.map(([key, p]) => (
          <tr key={key}>
            <td>
              {p.phase ? `${p.phase} · ` : ''}
              {p.task}
            </td>
            <td>
              <progress max={p.total} value={p.done} />
            </td>
            <td>
              {p.done}/{p.total} items
            </td>
            <td>{p.perSecond.toFixed(1)} items/s</td>
            <td>{p.done < p.total ? `~${Math.ceil((p.total - p.done) / p.perSecond)} s left` : 'done'}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

type Metric = 'acc' | 'accNorm' | 'perplexity';
const METRICS: [Metric, string][] = [
  ['acc', 'acc'],
  ['accNorm', 'acc_norm'],
  ['perplexity', 'perplexity'],
];

function cell(s: TaskScore | undefined, m: Metric): string {
  const v = s?.[m];
  if (v === undefined) return '';
  const se = m === 'acc' ? s!.accStderr : m === 'accNorm' ? s!.accNormStderr : null;
  return m === 'perplexity' ? v.toFixed(2) : `${v.toFixed(4)}${se != null ? ` ± ${se.toFixed(4)}` : ''}`;
}

export function TaskTable({ result }: { result: EvalResult }) {
  const { tasks, tasksBefore } = result;
  if (!tasks) return null;
  // the same name the perplexity table gives the quantized column
  const label = result.config.recipe ? recipeLabel(result.config.recipe) : 'value';
  return (
    <div className="table-scroll">
      <p className="hint" data-testid="task-settings">
        zero-shot, as lm-evaluation-harness: num_fewshot: 0, limit: {result.config.limit ?? 'none (every item)'}
      </p>
      <table data-testid="task-results">
        <thead>
          <tr>
            <th>task</th>
            <th>n-shot</th>
            <th>items</th>
            <th>metric</th>
            {tasksBefore && <th>FP</th>}
            <th>{label}</th>
            {tasksBefore && <th>Δ</th>}
            {result.baselines?.map((b) => (
              <th key={b.name}>{b.label}</th>
            ))}
            <th>time</th>
          </tr>
        </thead>
        <tbody>
          {Object.values(tasks).flatMap((t) =>
            METRICS.filter(([m]) => t[m] !== undefined).map(([m, name]) => {
              const fp = tasksBefore?.[t.task];
              const d = fp?.[m] !== undefined ? t[m]! - fp[m]! : undefined;
              return (
                <tr key={t.task + m}>
                  <td>{t.task}</td>
                  <td>0</td>
                  <td title={`${t.items} of the ${TASKS[t.task].size} items of the split`}>
                    {t.items < TASKS[t.task].size ? `${t.items} of ${TASKS[t.task].size}` : t.items}
                  </td>
                  <td>{name}</td>
                  {tasksBefore && <td data-testid={`task-fp-${t.task}-${name}`}>{cell(fp, m)}</td>}
                  <td data-testid={`task-${t.task}-${name}`} data-value={t[m]}>
                    {cell(t, m)}
                  </td>
                  {tasksBefore && (
                    <td>{d !== undefined ? `${d >= 0 ? '+' : ''}${d.toFixed(m === 'perplexity' ? 2 : 4)}` : ''}</td>
                  )}
                  {result.baselines?.map((b) => (
                    <td key={b.name}>{cell(b.tasks?.[t.task], m)}</td>
                  ))}
                  <td>{t.seconds.toFixed(1)} s</td>
                </tr>
              );
            }),
          )}
        </tbody>
      </table>
    </div>
  );
}
