// The lab's page: on a wide screen three columns side by side, each scrolling on its own, so the main loop needs no
// page scrolling — pick (model, experiment) → run (with the results table under it) → look (Inspect). Narrower
// screens stack them.
import { Profiler, useEffect, type ReactNode } from 'react';
import { useLab } from '../store/labStore.ts';
import { ModelPanel } from './ModelPanel.tsx';
import { ExperimentPanel } from './ExperimentPanel.tsx';
import { RunPanel } from './RunPanel.tsx';
import { LinkBanner } from './LinkBanner.tsx';
import { ResultsPanel } from './ResultsPanel.tsx';
import { InspectPanel } from './InspectPanel.tsx';
import { StoragePanel } from './StoragePanel.tsx';
import { GeneratePanel } from './GeneratePanel.tsx';

/**
 * Each panel's commits, counted when the page was asked to count them (window.__quantlabRenders, set by a test before
 * the page loads): a progress tick must re-render the run panel only.
 */
function Counted({ id, children }: { id: string; children: ReactNode }) {
  const onRender = (panel: string) => {
    const counts = (globalThis as { __quantlabRenders?: Record<string, number> }).__quantlabRenders;
    if (counts) counts[panel] = (counts[panel] ?? 0) + 1;
  };
  return (
    <Profiler id={id} onRender={onRender}>
      {children}
    </Profiler>
  );
}

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
      <Counted id="link">
        <LinkBanner />
      </Counted>
      <div className="columns">
        <div className="col col-form" aria-label="model and experiment" role="region">
          <Counted id="model">
            <ModelPanel />
          </Counted>
          <Counted id="experiment">
            <ExperimentPanel />
          </Counted>
          <Counted id="storage">
            <StoragePanel />
          </Counted>
        </div>
        <div className="col col-run" aria-label="run and results" role="region">
          <Counted id="run">
            <RunPanel />
          </Counted>
          <Counted id="results">
            <ResultsPanel />
          </Counted>
          <Counted id="generate">
            <GeneratePanel />
          </Counted>
        </div>
        <div className="col col-inspect" aria-label="inspect" role="region">
          <Counted id="inspect">
            <InspectPanel />
          </Counted>
        </div>
      </div>
    </main>
  );
}
