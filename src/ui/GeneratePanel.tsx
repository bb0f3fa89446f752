// Generate: what the models of the run on screen write after a prompt, full precision and quantized side by side.
// While they write, the text streams in; once done, every token is its own span whose tooltip gives its log-prob under
// the model that wrote it and under the other one, and the first token where the two part is marked in both.
import { useShallow } from 'zustand/react/shallow';
import { useLab } from '../store/labStore.ts';
import { generateBlocker } from '../store/generateSlice.ts';
import { recipeLabel } from '../quant/recipe.ts';
import type { Continuation, GenerateRequest, GenerationReport } from '../pipeline/types.ts';
import type { LabState } from '../store/labStore.ts';
import { NumberInput } from './NumberInput.tsx';

const SETTINGS: { key: keyof Omit<GenerateRequest, 'prompt'>; label: string; step?: string; title: string }[] = [
  { key: 'maxNewTokens', label: 'new tokens', title: 'new tokens at most; generation also stops at EOS' },
  { key: 'temperature', label: 'temperature', step: '0.1', title: '0 is greedy: the most likely token every time' },
  { key: 'topK', label: 'top-k', title: 'draw from the k most likely tokens only; 0 is off' },
  {
    key: 'topP',
    label: 'top-p',
    step: '0.05',
    title: 'draw from the fewest tokens whose probability reaches p; 1 is off',
  },
  { key: 'repetitionPenalty', label: 'repetition penalty', step: '0.05', title: '1 is off (CTRL’s penalty)' },
  { key: 'seed', label: 'seed', title: 'the sampling generator’s seed: the same seed writes the same text' },
];

const fmtLp = (v: number) => v.toFixed(2).replace('-', '−');

function Tokens({ c, other, self, divergeAt, side }: TokensProps) {
  return (
    <p className="gen-text" data-testid={`gen-text-${side}`}>
      {c.tokenTexts.map((t, i) => {
        const tip =
          `token ${i + 1}: log p ${fmtLp(c.logProbs[i])} under ${self}` +
          (c.otherLogProbs ? `, ${fmtLp(c.otherLogProbs[i])} under ${other}` : '');
        const parts = i === divergeAt;
        return (
          <span
            key={i}
            title={tip}
            className={parts ? 'tok diverge' : 'tok'}
            data-testid={parts ? `diverge-${side}` : undefined}
            data-lp={c.logProbs[i]}
          >
            {t}
          </span>
        );
      })}
    </p>
  );
}

interface TokensProps {
  c: Continuation;
  other: string;
  self: string;
  divergeAt?: number;
  side: 'fp' | 'quant';
}

/** the generation shown: this page's for the run on screen, or the one the run's result carries (a bundle's) */
function shownReport(s: LabState): GenerationReport | null {
  if (s.generation.forRun === s.runId && s.generation.status !== 'idle') return s.generation.report;
  return s.result?.generation ?? null;
}

function Column({ side, title, other }: { side: 'fp' | 'quant'; title: string; other: string }) {
  const { gen, report, mine, formPrompt } = useLab(
    useShallow((s) => ({
      gen: s.generation,
      report: shownReport(s),
      mine: s.generation.forRun === s.runId,
      formPrompt: s.genForm.prompt,
    })),
  );
  const c = report?.[side];
  const streaming = gen.status === 'running' && mine ? gen.streams[side] : null;
  if (!c && streaming === null) return null;
  return (
    <div className="gen-column" data-testid={`gen-${side}`}>
      <h3>
        {title}
        {c && (
          <span className="hint" data-testid={`gen-speed-${side}`}>
            {' '}
            {c.ids.length} tokens, {c.tokensPerSecond.toFixed(1)} tokens/s
            {c.stop === 'eos' ? ', stopped at EOS' : ''}
          </span>
        )}
      </h3>
      <div className="gen-body">
        <span className="gen-prompt">{report?.prompt ?? formPrompt}</span>
        {c ? (
          <Tokens c={c} self={title} other={other} divergeAt={report?.divergeAt} side={side} />
        ) : (
          <p className="gen-text" data-testid={`gen-stream-${side}`}>
            {streaming}
          </p>
        )}
      </div>
    </div>
  );
}

export function GeneratePanel() {
  const { form, setForm, generate, cancel, status, error, report, label, hasResult } = useLab(
    useShallow((s) => ({
      form: s.genForm,
      setForm: s.setGenForm,
      generate: s.generate,
      cancel: s.cancelGenerate,
      status: s.generation.forRun === s.runId ? s.generation.status : 'idle',
      error: s.generation.forRun === s.runId ? s.generation.error : null,
      report: shownReport(s),
      label: s.resultSpec?.recipe.steps.length ? recipeLabel(s.resultSpec.recipe) : null,
      hasResult: s.result !== null,
    })),
  );
  const blocker = useLab(generateBlocker);
  if (!hasResult) return null;
  const quantName = label ?? 'the model';
  const d = report?.divergeAt;
  return (
    <section className="panel" data-testid="generate-panel" aria-label="generate">
      <h2>Generate</h2>
      <p className="hint">
        The run's models continue a prompt: full precision beside {label ?? 'itself'}. Hover a token for its
        log-probability under each model.
      </p>
      <label className="gen-prompt-field">
        Prompt
        <textarea
          data-testid="gen-prompt"
          rows={2}
          value={form.prompt}
          onChange={(e) => setForm({ prompt: e.target.value })}
        />
      </label>
      <div className="row gen-settings">
        {SETTINGS.map((f) => (
          <label key={f.key} title={f.title}>
            {f.label}{' '}
            <NumberInput
              testid={`gen-${f.key}`}
              value={form[f.key]}
              step={f.step}
              onChange={(v) => setForm({ [f.key]: v ?? NaN })}
            />
          </label>
        ))}
      </div>
      <div className="row">
        <button
          data-testid="generate"
          onClick={() => void generate()}
          disabled={blocker !== null || status === 'running'}
          title={blocker ?? undefined}
        >
          Generate
        </button>
        <button data-testid="gen-cancel" onClick={cancel} disabled={status !== 'running'}>
          Stop
        </button>
        <span data-testid="gen-status" className={`status ${status}`}>
          {status}
        </span>
      </div>
      {blocker && status !== 'running' && <p className="hint">Generate is off: {blocker}</p>}
      {error && (
        <p className="error" role="alert" data-testid="gen-error">
          {error}
        </p>
      )}
      {report?.fp && report.quant && (
        <p className="note" data-testid="gen-diverge-line">
          {d === undefined
            ? 'The two continuations are the same token for token.'
            : `They part at new token ${d + 1}: full precision wrote “${report.fp.tokenTexts[d] ?? ''}”, ` +
              `${quantName} “${report.quant.tokenTexts[d] ?? ''}” (marked below).`}
        </p>
      )}
      <div className="gen-columns">
        <Column side="fp" title="Full precision" other={quantName} />
        {label && <Column side="quant" title={label} other="full precision" />}
      </div>
    </section>
  );
}
