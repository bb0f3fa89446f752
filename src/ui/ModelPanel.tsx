// Model: bundled fixtures (when the dev server serves ../shared), Hub presets or any repo id, a URL, or a local
// folder picked or dropped (a GPTQ checkpoint too: its packed layers are dequantized on the GPU per block). A chosen
// model is probed before any download: size, parameters and whether it fits. A lab bundle (an exported run) is
// imported here too: its result becomes the current run and a Results row.
import { maxWindow } from '../model/config.ts';
import { useState, type DragEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { BUNDLED, HUB_PRESETS, describeChoice, formRecipe, useLab } from '../store/labStore.ts';
import { resolveSteps } from '../quant/recipe.ts';
import { parseHubId } from '../model/source.ts';
import { fmtBytes } from '../gpu/gpu.ts';
import { predictPeak, predictQuantizedLayers } from '../pipeline/memory.ts';
import type { ModelProbe } from '../pipeline/probe.ts';
import type { GptqFormat } from '../model/gptqCheckpoint.ts';
import { BUNDLE_FILES } from '../store/exportSlice.ts';

/** "W4 g32, act-order": a GPTQ checkpoint's settings as the page names them. */
export function gptqWords(g: GptqFormat): string {
  return [
    `W${g.bits} ${g.groupSize > 0 ? `g${g.groupSize}` : 'per row'}`,
    g.descAct && 'act-order',
    g.sym && 'symmetric',
  ]
    .filter(Boolean)
    .join(', ');
}

/** The peak GPU memory predicted for the form's run (memory.ts), before anything downloads. */
function PredictedPeak({ p }: { p: ModelProbe }) {
  const { nsamples, seqlen } = useLab(useShallow((s) => ({ nsamples: s.nsamples, seqlen: s.seqlen })));
  // the memory model's quantization pass is a Hessian-based weight step's (GPTQ's, CLAQ's)
  const weightStep = useLab((s) => {
    const w = resolveSteps(formRecipe(s)).weight;
    return w?.needsHessian() ? w.method.title : null;
  });
  // the quantized layers kept packed (RTN, GPTQ): their bytes on the GPU, from the form's bits and groups
  const packed = useLab((s) => {
    try {
      return predictQuantizedLayers(p.config, formRecipe(s));
    } catch {
      return null;
    }
  });
  const S = Math.min(seqlen, maxWindow(p.config));
  if (!Number.isInteger(S) || S < 2) return null;
  const peak = predictPeak({
    cfg: p.config,
    ...p.memory,
    seqlen: S,
    ...(weightStep ? { quant: { nsamples, seqlen: S, stored16: p.memory.vocabPart.bytesPerWeight === 2 } } : {}),
  });
  return (
    <p className="hint" data-testid="predicted-peak">
      This run should peak at about <strong>{fmtBytes(peak)}</strong> of GPU memory (
      {weightStep ? `${weightStep} on ${nsamples} × ${S} tokens, then ` : ''}evaluation windows of {S}; weights as the
      checkpoint stores them).
      {packed !== null && (
        <span data-testid="predicted-packed">
          {' '}
          Once quantized, the decoder's layers take about <strong>{fmtBytes(packed)}</strong> on the GPU, kept packed.
        </span>
      )}
    </p>
  );
}

function ProbeInfo() {
  const { probe, probeModel, status, modelNeedsConsent, model } = useLab(
    useShallow((s) => ({
      probe: s.probe,
      probeModel: s.probeModel,
      status: s.status,
      modelNeedsConsent: s.modelNeedsConsent,
      model: s.model,
    })),
  );
  if (probe.status === 'idle' && modelNeedsConsent)
    return (
      <p className="confirm" data-testid="model-consent">
        This experiment's model is at <code>{describeChoice(model)}</code>. The page reads nothing from it until you
        allow it.{' '}
        <button data-testid="model-allow" disabled={status === 'running'} onClick={() => void probeModel()}>
          Read its config.json and headers
        </button>
      </p>
    );
  if (probe.status === 'idle')
    return (
      <button
        className="link"
        disabled={status === 'running'}
        onClick={() => void probeModel()}
        data-testid="probe-model"
      >
        Check size and fit on this device
      </button>
    );
  if (probe.status === 'loading') return <p className="hint">reading config.json and the safetensors headers…</p>;
  if (probe.status === 'error')
    return (
      <p className="error" data-testid="model-probe">
        {probe.error}
      </p>
    );
  const p = probe.info!;
  const dtypes = p.dtypes.join(', ');
  return (
    <div data-testid="model-probe" className="probe">
      <p>
        {p.modelType}, {p.layers} blocks × {p.hidden} wide,{' '}
        <strong>{(p.parameters / 1e6).toFixed(p.parameters < 1e7 ? 2 : 0)}M parameters</strong>; download{' '}
        <strong>{fmtBytes(p.downloadBytes)}</strong> ({dtypes}); one block takes {fmtBytes(p.blockBytes)} on the GPU.
      </p>
      {p.config.gptq && (
        <p className="ok" data-testid="model-gptq">
          GPTQ checkpoint: {gptqWords(p.config.gptq)} (dequantized on the GPU per block)
        </p>
      )}
      {p.limits === null ? (
        <p className="hint">No WebGPU adapter answered, so the fit could not be checked.</p>
      ) : p.problems.length === 0 ? (
        <p className="ok" data-testid="model-fits">
          Fits this device: the largest tensor bound whole ({p.largest.name}, {fmtBytes(p.largest.bytes)} as f32) is
          within its {fmtBytes(Math.min(p.limits.maxStorageBufferBindingSize, p.limits.maxBufferSize))} binding limit
          {p.vocabChunks > 1 ? `; the vocabulary comes in ${p.vocabChunks} row chunks` : ''}.
        </p>
      ) : (
        <ul className="error" data-testid="model-misfit">
          {p.problems.map((m) => (
            <li key={m}>{m}</li>
          ))}
        </ul>
      )}
      <PredictedPeak p={p} />
    </div>
  );
}

/** A bundle the lab exported (quantlab-bundle.json + quantlab-weights.safetensors), picked as a folder or as files. */
function ImportBundle() {
  const { bundleImport, importBundle, status } = useLab(
    useShallow((s) => ({ bundleImport: s.bundleImport, importBundle: s.importBundle, status: s.status })),
  );
  const busy = status === 'running' || bundleImport.status === 'loading';
  const pick = (input: HTMLInputElement, folder: boolean) => {
    const files = Array.from(input.files ?? []);
    // cleared, so picking the same bundle again imports it again
    input.value = '';
    if (files.length === 0) return;
    const label = (folder && files[0].webkitRelativePath.split('/')[0]) || 'bundle files';
    void importBundle(files, label);
  };
  return (
    <>
      <div className="row">
        <label className="file" title={`a folder the lab exported as a bundle: ${BUNDLE_FILES.join(' + ')}`}>
          Import bundle (folder)…{' '}
          <input
            type="file"
            multiple
            data-testid="import-bundle-folder"
            {...{ webkitdirectory: '' }}
            onChange={(e) => pick(e.target, true)}
            disabled={busy}
          />
        </label>
        <label className="file" title={`pick both files: ${BUNDLE_FILES.join(' and ')}`}>
          (files)…{' '}
          <input
            type="file"
            multiple
            accept=".json,.safetensors"
            data-testid="import-bundle"
            onChange={(e) => pick(e.target, false)}
            disabled={busy}
          />
        </label>
        <span className="hint">
          an exported run: its figures, reports and quantized weights come back without recomputing
        </span>
      </div>
      {bundleImport.status === 'loading' && <p className="hint">reading the bundle "{bundleImport.label}"…</p>}
      {bundleImport.status === 'done' && (
        <p className="ok" data-testid="bundle-imported">
          Bundle "{bundleImport.label}" imported: it is the current run (Run and Inspect panels) and a row in Results.
        </p>
      )}
      {bundleImport.status === 'error' && (
        <p className="error" role="alert" data-testid="bundle-error">
          {bundleImport.error}
        </p>
      )}
    </>
  );
}

export function ModelPanel() {
  const { model, setModel, sharedServed, status, importBundle } = useLab(
    useShallow((s) => ({
      model: s.model,
      setModel: s.setModel,
      sharedServed: s.sharedServed,
      status: s.status,
      importBundle: s.importBundle,
    })),
  );
  const [custom, setCustom] = useState('');
  const [customError, setCustomError] = useState('');
  const busy = status === 'running';

  const applyCustom = () => {
    const v = custom.trim();
    if (/^https?:\/\//.test(v)) return (setModel({ kind: 'url', url: v }), setCustomError(''));
    const hub = parseHubId(v);
    if (hub) return (setModel({ kind: 'hub', ...hub }), setCustomError(''));
    setCustomError('Enter a Hub id (org/name or org/name@revision) or an http(s) URL to a model folder.');
  };
  const onFiles = (list: FileList | null, label: string) => {
    if (list && list.length) setModel({ kind: 'files', files: Array.from(list), label });
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    // a dropped bundle is imported as a run, anything else is a model
    const files = Array.from(e.dataTransfer.files);
    if (files.some((f) => f.name === BUNDLE_FILES[0])) void importBundle(files, 'dropped bundle');
    else onFiles(e.dataTransfer.files, 'dropped files');
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
          {model.kind !== 'bundled' && (model.kind !== 'hub' || !HUB_PRESETS.includes(model.repo)) && (
            <option value={model.kind === 'hub' ? `hub:${model.repo}` : ''}>{describeChoice(model)}</option>
          )}
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
        <input
          className="wide"
          aria-label="a Hub repo id or a model URL"
          placeholder="Hub id or model URL"
          title={
            'a Hub repo id (org/name or org/name@revision) ' +
            'or the URL of a folder with config.json, *.safetensors and tokenizer.json'
          }
          value={custom}
          onChange={(e) => setCustom(e.target.value)}
          disabled={busy}
        />
        <button onClick={applyCustom} disabled={busy || !custom.trim()}>
          Use
        </button>
      </div>
      {customError && <p className="field-error">{customError}</p>}
      <div className="row">
        <label className="file">
          Local folder…{' '}
          <input
            type="file"
            multiple
            data-testid="model-folder"
            {...{ webkitdirectory: '' }}
            onChange={(e) => onFiles(e.target.files, 'local folder')}
            disabled={busy}
          />
        </label>
        <span className="hint">or drop config.json, *.safetensors and tokenizer.json here (a GPTQ checkpoint too)</span>
      </div>
      <ImportBundle />
      <p className="current" data-testid="model-current">
        Selected: {describeChoice(model)}
      </p>
      {model.kind === 'files' && model.files.length === 0 ? (
        <p className="error" data-testid="model-missing-files">
          This experiment ran on local files ("{model.label}") that only its author has. Pick that folder (Local
          folder…) or drop its files here to re-run it.
        </p>
      ) : (
        <ProbeInfo />
      )}
    </section>
  );
}
