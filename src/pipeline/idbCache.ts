// The lab's cache in IndexedDB (idb-keyval), shared by the worker (which fills it) and the page (whose Storage panel
// lists and clears it). Each entry is two records written in one transaction, its value and a small meta, so a full
// quota leaves neither behind and the panel never has to load a value to size it.
import { createStore, delMany, get, getMany, keys, setMany, type UseStore } from 'idb-keyval';
import { CacheFullError, sizeOf, type CacheMeta, type LabCache } from './cache.ts';
import { fmtBytes } from '../gpu/gpu.ts';

const VALUE = 'v:';
const META = 'm:';

function isQuotaError(e: unknown): boolean {
  const name = (e as { name?: string })?.name ?? '';
  return name === 'QuotaExceededError' || /quota/i.test(String((e as Error)?.message ?? ''));
}

export function idbCache(store: UseStore = createStore('quantization-lab', 'cache')): LabCache {
  const metaKeys = async () =>
    ((await keys(store)) as string[]).filter((k) => typeof k === 'string' && k.startsWith(META));
  return {
    get: (key) => get(VALUE + key, store),
    async set(key, value, meta) {
      const m: CacheMeta = { ...meta, key, bytes: sizeOf(value), at: Date.now() };
      try {
        await setMany(
          [
            [VALUE + key, value],
            [META + key, m],
          ],
          store,
        );
      } catch (e) {
        if (isQuotaError(e)) {
          throw new CacheFullError(
            `This browser's storage for the lab is full (${fmtBytes(m.bytes)} more were needed).`,
          );
        }
        throw e;
      }
    },
    async entries() {
      return (await getMany(await metaKeys(), store)).filter(Boolean) as CacheMeta[];
    },
    async clear(model) {
      const metas = (await getMany(await metaKeys(), store)).filter(Boolean) as CacheMeta[];
      const gone = metas.filter((m) => model === undefined || m.model === model);
      await delMany(
        gone.flatMap((m) => [VALUE + m.key, META + m.key]),
        store,
      );
      return gone.length;
    },
  };
}
