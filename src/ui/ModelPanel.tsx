// Model: bundled fixtures (when the dev server serves ../shared), Hub presets or any repo id, a URL, or a local
// folder picked or dropped.
import { useState, type DragEvent } from 'react';
import { BUNDLED, HUB_PRESETS, useLab, type ModelChoice } from '../store/labStore.ts';
import { parseHubId } from '../model/source.ts';

function describe(m: ModelChoice): string {
  if (m.kind === 'bundled') return `bundled ${m.id}`;
  if (m.kind === 'hub') return `${m.repo}@${m.revision}`;
  if (m.kind === 'url') return m.url;
  return `${m.label} (${m.files.length} files)`;
}

export function ModelPanel() {
  const { model, setModel, sharedServed, status } = useLab();
  const [custom, setCustom] = useState('');
  const [customError, setCustomError] = useState('');
  const busy = status === 'running';

  const applyCustom = () => {
    const v = custom.trim();
    if (/^https?:\/\//.test(v)) return setModel({ kind: 'url', url: v }), setCustomError('');
    const hub = parseHubId(v);
    if (hub) return setModel({ kind: 'hub', ...hub }), setCustomError('');
    setCustomError('Enter a Hub id (org/name or org/name@revision) or an http(s) URL to a model folder.');
  };
  const onFiles = (list: FileList | null, label: string) => {
    if (list && list.length) setModel({ kind: 'files', files: Array.from(list), label });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    onFiles(e.dataTransfer.files, 'dropped files');
  };

  return (
    <section className="panel" onDragOver={(e) => e.preventDefault()} onDrop={onDrop}>
      <h2>Model</h2>
      <label>
        Preset{' '}
        <select
          data-testid="model-select"
          disabled={busy}
          value={model.kind === 'bundled' ? `bundled:${model.id}` : model.kind === 'hub' ? `hub:${model.repo}` : ''}
          onChange={(e) => {
            const [kind, id] = e.target.value.split(/:(.*)/s);
            if (kind === 'bundled') setModel({ kind: 'bundled', id });
            else if (kind === 'hub') setModel({ kind: 'hub', repo: id, revision: 'main' });
          }}
        >
          {model.kind !== 'bundled' && model.kind !== 'hub' && <option value="">{describe(model)}</option>}
          {sharedServed &&
            BUNDLED.map((b) => (
              <option key={b.id} value={`bundled:${b.id}`}>
                {b.label}
              </option>
            ))}
          {HUB_PRESETS.map((r) => (
            <option key={r} value={`hub:${r}`}>
              {r} (Hub)
            </option>
          ))}
        </select>
      </label>
      <div className="row">
        <input placeholder="org/name[@revision] or https://…/model/" value={custom} onChange={(e) => setCustom(e.target.value)} disabled={busy} />
        <button onClick={applyCustom} disabled={busy || !custom.trim()}>
          Use
        </button>
      </div>
      {customError && <p className="field-error">{customError}</p>}
      <div className="row">
        <label className="file">
          Local folder… <input type="file" multiple {...{ webkitdirectory: '' }} onChange={(e) => onFiles(e.target.files, 'local folder')} disabled={busy} />
        </label>
        <span className="hint">or drop config.json, *.safetensors and tokenizer.json here</span>
      </div>
      <p className="current" data-testid="model-current">
        Selected: {describe(model)}
      </p>
    </section>
  );
}
