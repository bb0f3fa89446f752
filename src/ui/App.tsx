import { useEffect } from 'react';
import { useLab } from '../store/labStore.ts';
import { ModelPanel } from './ModelPanel.tsx';
import { ExperimentPanel } from './ExperimentPanel.tsx';
import { RunPanel } from './RunPanel.tsx';

export function App() {
  const probeShared = useLab((s) => s.probeShared);
  useEffect(() => void probeShared(), [probeShared]);
  const webgpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  return (
    <main>
      <header>
        <h1>Quantization Lab</h1>
        <p>Load a Hugging Face model, run it on WebGPU in this tab, and measure perplexity. Nothing leaves your browser.</p>
        {!webgpu && (
          <p className="error" role="alert">
            This browser exposes no WebGPU. Use Chrome/Edge 113+ or Firefox 141+ (or start Chromium with --enable-unsafe-webgpu).
          </p>
        )}
      </header>
      <div className="grid">
        <ModelPanel />
        <ExperimentPanel />
        <RunPanel />
      </div>
    </main>
  );
}
