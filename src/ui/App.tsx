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
    void probeShared();
    void openLink(location.href);
    const onHash = () => void openLink(location.href);
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, [probeShared, openLink]);
  const webgpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  return (
    <main>
      <header>
        <h1>Quantization Lab</h1>
        <p>Quantize a Hugging Face model on WebGPU in this tab, measure perplexity, and see what each method does to every channel. Nothing leaves your browser.</p>
        {!webgpu && (
          <p className="error" role="alert">
            This browser exposes no WebGPU. Use Chrome/Edge 113+ or Firefox 141+ (or start Chromium with --enable-unsafe-webgpu).
          </p>
        )}
      </header>
      <LinkBanner />
      <div className="grid">
        <ModelPanel />
        <ExperimentPanel />
        <RunPanel />
        <InspectPanel />
        <ResultsPanel />
        <StoragePanel />
      </div>
    </main>
  );
}
