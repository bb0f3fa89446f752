// One zustand store built from slices by concern: model, experiment, run, results, share link, inspect, storage.
// Actions are the only callers of the worker; tensors never enter the store, only summaries. The form and the
// results table persist in localStorage, so a reload keeps them (and a re-run resumes from the IndexedDB cache).
import { create } from 'zustand';
import { createJSONStorage, persist } from 'zustand/middleware';
import { createModelSlice, type ModelSlice } from './modelSlice.ts';
import { createExperimentSlice, type ExperimentSlice } from './experimentSlice.ts';
import { createRunSlice, type RunSlice } from './runSlice.ts';
import { createResultsSlice, type ResultsSlice } from './resultsSlice.ts';
import { createLinkSlice, type LinkSlice } from './linkSlice.ts';
import { createInspectSlice, type InspectSlice } from './inspectSlice.ts';
import { createStorageSlice, type StorageSlice } from './storageSlice.ts';
import { completeRecipe } from '../pipeline/experimentSpec.ts';

export type LabState = ModelSlice & ExperimentSlice & RunSlice & ResultsSlice & LinkSlice & InspectSlice & StorageSlice;

export const useLab = create<LabState>()(
  persist(
    (...a) => ({
      ...createModelSlice(...a),
      ...createExperimentSlice(...a),
      ...createRunSlice(...a),
      ...createResultsSlice(...a),
      ...createLinkSlice(...a),
      ...createInspectSlice(...a),
      ...createStorageSlice(...a),
    }),
    {
      name: 'quantization-lab',
      version: 1,
      storage: createJSONStorage(() => localStorage),
      // local files cannot be stored; the rest of the form and the results table can
      partialize: (s) => ({
        model: s.model.kind === 'files' ? undefined : s.model,
        recipe: s.recipe,
        datasets: s.datasets,
        seqlen: s.seqlen,
        windows: s.windows,
        dataBase: s.dataBase,
        runs: s.runs,
      }),
      merge: (persisted, current) => {
        const p = (persisted ?? {}) as Partial<LabState>;
        return { ...current, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)), recipe: completeRecipe({ ...current.recipe, ...p.recipe }) };
      },
    },
  ),
);

export { BUNDLED, HUB_PRESETS, sourceSpec, describeChoice, type ModelChoice } from './modelSlice.ts';
export { DATASETS, PRESETS, presetProblem, recipeProblem, selectedConfig } from './experimentSlice.ts';
