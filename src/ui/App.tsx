// The lab's page: on a wide screen three columns side by side, each scrolling on its own, so the main loop needs no
// page scrolling — pick (model, experiment) → run (with the results table under it) → look (Inspect). Narrower
// screens stack them.
import { useEffect } from 'react';
import { useLab } from '../store/labStore.ts';
import { ModelPanel } from './ModelPanel.tsx';
import { ExperimentPanel } from './ExperimentPanel.tsx';
import { RunPanel } from './RunPanel.tsx';
import { LinkBanner } from './LinkBanner.tsx';
import { ResultsPanel } from './ResultsPanel.tsx';
import { InspectPanel } from './InspectPanel.tsx';
import { StoragePanel } from './StoragePanel.tsx';

export function App() {
  const probeShared = useLab((s) => s.probeShared);
  const openLink = useLab((s) => s.openLink);
  useEffect(() => {
    // a link's experiment first, then the model check of whatever model the page then shows
    void openLink(location.href).then(() => probeShared());
    const onHash = () => void openLink(location.href);
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [probeShared, openLink]);
  const webgpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  return (
    <main className="lab">
      <header className="top">
        <h1>Quantization Lab</h1>
        <p className="hint">
          Quantize a Hugging Face model on WebGPU in this tab, measure it, and see what each method does to every
          channel. Nothing leaves your browser.
        </p>
        {!webgpu && (
          <p className="error" role="alert">
            This browser exposes no WebGPU. Use Chrome/Edge 113+ or Firefox 141+ (or start Chromium with
            --enable-unsafe-webgpu).
          </p>
        )}
      </header>
      <LinkBanner />
      <div className="columns">
        <div className="col col-form" aria-label="model and experiment" role="region">
          <ModelPanel />
          <ExperimentPanel />
          <StoragePanel />
        </div>
        <div className="col col-run" aria-label="run and results" role="region">
          <RunPanel />
          <ResultsPanel />
        </div>
        <div className="col col-inspect" aria-label="inspect" role="region">
          <InspectPanel />
        </div>
      </div>
    </main>
  );
}
