// The Storage panel: how much of the browser's quota the lab uses, its cache entries per model, and clearing them.
import type { StateCreator } from 'zustand';
import type { CacheMeta } from '../pipeline/cache.ts';
import { idbCache } from '../pipeline/idbCache.ts';
import type { LabState } from './labStore.ts';

export interface StorageSlice {
  storage: { usage?: number; quota?: number; entries: CacheMeta[]; error?: string };
  refreshStorage(): Promise<void>;
  clearStorage(model?: string): Promise<void>;
}

export const createStorageSlice: StateCreator<LabState, [], [], StorageSlice> = (set, get) => ({
  storage: { entries: [] },
  async refreshStorage() {
    try {
      const est = await navigator.storage?.estimate?.();
      set({ storage: { usage: est?.usage, quota: est?.quota, entries: await idbCache().entries() } });
    } catch (e) {
      set({ storage: { entries: [], error: (e as Error).message } });
    }
  },
  async clearStorage(model) {
    await idbCache().clear(model);
    await get().refreshStorage();
  },
});
