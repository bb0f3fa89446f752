// Share links in the page: opening one restores the form and shows the shared figures, and only offers to run;
// a damaged or forged link shows what is wrong and changes nothing. Making one encodes the form (and the current
// result's figures when asked).
import type { StateCreator } from 'zustand';
import { decodeShareLink, hasSharePayload, shareUrl } from '../pipeline/shareLink.ts';
import type { ExperimentSpec, ResultSummary } from '../pipeline/experimentSpec.ts';
import { summarize } from './resultsSlice.ts';
import type { LabState } from './labStore.ts';

export interface LinkSlice {
  /** the experiment a link opened, and its figures when it carried them */
  shared: { spec: ExperimentSpec; results?: ResultSummary } | null;
  linkError: string | null;
  /** reads location.hash once at start-up (and on hashchange) */
  openLink(url: string): Promise<void>;
  dismissLink(): void;
  makeLink(withResults: boolean): Promise<string>;
}

export const createLinkSlice: StateCreator<LabState, [], [], LinkSlice> = (set, get) => ({
  shared: null,
  linkError: null,
  async openLink(url) {
    if (!hasSharePayload(url)) return;
    try {
      const payload = await decodeShareLink(url);
      get().applySpec(payload.spec);
      set({ shared: payload, linkError: null });
    } catch (e) {
      set({ linkError: (e as Error).message, shared: null });
    }
  },
  dismissLink() {
    set({ shared: null, linkError: null });
    // the fragment goes too, or a reload would open the dismissed link again
    if (typeof location !== 'undefined' && hasSharePayload(location.hash)) history.replaceState(history.state, '', location.href.split('#')[0]);
  },
  async makeLink(withResults) {
    const s = get();
    const spec = s.spec();
    const results = withResults && s.result ? summarize(spec, s.result) : undefined;
    return shareUrl(location.href, { spec, results });
  },
});
