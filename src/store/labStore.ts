// One zustand store built from slices by concern: model, experiment, run, results, share link, inspect, storage,
// export (and bundle import).
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
import { createExportSlice, type ExportSlice } from './exportSlice.ts';
import { createGenerateSlice, type GenerateSlice } from './generateSlice.ts';
import { completeV1, fromV1, type V1Recipe } from '../pipeline/legacyRecipe.ts';
import { defaultOptions, pickForm } from './experimentSlice.ts';
import { withoutRetired } from '../quant/recipe.ts';

export type LabState = ModelSlice &
  ExperimentSlice &
  RunSlice &
  ResultsSlice &
  LinkSlice &
  InspectSlice &
  StorageSlice &
  ExportSlice &
  GenerateSlice;

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
      ...createExportSlice(...a),
      ...createGenerateSlice(...a),
    }),
    {
      name: 'quantization-lab',
      // 2: the recipe of steps (chain + per-method options); version 1 kept one flat recipe
      version: 2,
      migrate: (persisted, version) =>
        (version < 2 ? migrateV1(persisted as Record<string, unknown>) : persisted) as Partial<LabState>,
      storage: createJSONStorage(() => localStorage),
      // the user's form (not a link's experiment they have not taken), the results table and where recipes keep their
      // blocks; local files cannot be stored
      partialize: (s) => {
        const form = s.formBeforeLink ?? pickForm(s);
        return {
          ...form,
          model: form.model.kind === 'files' ? undefined : form.model,
          runs: s.runs,
          knownBlocks: s.knownBlocks,
          genForm: s.genForm,
        };
      },
      merge: (persisted, current) => {
        const p = (persisted ?? {}) as Partial<LabState>;
        // a method registered since the form was stored starts at its defaults; an option since retired is dropped
        const stored = Object.fromEntries(
          Object.entries(p.options ?? {}).map(([method, o]) => [method, withoutRetired(method, o)]),
        );
        return {
          ...current,
          ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)),
          options: { ...current.options, ...stored },
        };
      },
    },
  ),
);

/** A version-1 stored form (one flat recipe) and results table (flat recipes in every run) as today's shapes. */
function migrateV1(p: Record<string, unknown>): Record<string, unknown> {
  const toSteps = (flat: unknown) => fromV1(completeV1((flat ?? {}) as Record<string, unknown>) as V1Recipe);
  const out: Record<string, unknown> = { ...p };
  delete out.recipe;
  try {
    const r = toSteps(p.recipe);
    const options = defaultOptions();
    for (const { method, ...o } of r.steps) options[method] = { ...options[method], ...o };
    Object.assign(out, {
      chain: r.steps.map((st) => st.method).join('+') || 'fp',
      options,
      calib: r.calib,
      nsamples: r.nsamples,
      seed: r.seed,
    });
  } catch {
    // a form that no longer validates starts from the defaults
  }
  const runs = Array.isArray(p.runs) ? (p.runs as { spec: { recipe: unknown } }[]) : [];
  out.runs = runs.flatMap((run) => {
    try {
      return [{ ...run, spec: { ...run.spec, recipe: toSteps(run.spec.recipe) } }];
    } catch {
      return [];
    }
  });
  return out;
}

export { BUNDLED, HUB_PRESETS, sourceSpec, describeChoice, type ModelChoice } from './modelSlice.ts';
export { DATASETS, PRESETS, formRecipe, presetProblem, recipeProblem, selectedConfig } from './experimentSlice.ts';
