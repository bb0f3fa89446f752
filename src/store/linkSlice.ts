// Share links in the page: opening one restores the form and shows the shared figures, and only offers to run;
// a damaged or forged link shows what is wrong and changes nothing. The link's experiment is shown in the form but
// becomes the form this browser keeps (localStorage, every tab) only when the user takes it: a re-run or "use these
// settings"; dismissing the link puts the user's own form back. Making one encodes the form (and the current
// result's figures when asked).
import type { StateCreator } from 'zustand';
import { decodeShareLink, hasSharePayload, shareUrl } from '../pipeline/shareLink.ts';
import type { ExperimentSpec, ResultSummary } from '../pipeline/experimentSpec.ts';
import { summarize } from './resultsSlice.ts';
import type { FormSnapshot } from './experimentSlice.ts';
import { pickForm } from './experimentSlice.ts';
import type { LabState } from './labStore.ts';
import { DEFAULT_GENERATE } from './generateSlice.ts';
import { canonicalJson } from '../pipeline/cache.ts';

export interface LinkSlice {
  /** the experiment a link opened, and its figures when it carried them */
  shared: { spec: ExperimentSpec; results?: ResultSummary } | null;
  linkError: string | null;
  /** the user's own form while a link's experiment is shown and not taken (what localStorage keeps meanwhile) */
  formBeforeLink: FormSnapshot | null;
  /** reads location.hash once at start-up (and on hashchange) */
  openLink(url: string): Promise<void>;
  /** the link's experiment becomes the user's form (kept across reloads and tabs) */
  acceptLink(): void;
  dismissLink(): void;
  makeLink(withResults: boolean): Promise<string>;
}

export const createLinkSlice: StateCreator<LabState, [], [], LinkSlice> = (set, get) => ({
  shared: null,
  linkError: null,
  formBeforeLink: null,
  async openLink(url) {
    if (!hasSharePayload(url)) return;
    try {
      const payload = await decodeShareLink(url);
      // the first link keeps the user's form aside; a second one replaces the first link, not the user's form
      const kept = get().formBeforeLink ?? pickForm(get());
      set({ formBeforeLink: kept });
      get().applySpec(payload.spec, { fromLink: true });
      set({ shared: payload, linkError: null });
      if (payload.generate) get().setGenForm(payload.generate);
    } catch (e) {
      set({ linkError: (e as Error).message, shared: null });
    }
  },
  acceptLink() {
    set({ formBeforeLink: null });
  },
  dismissLink() {
    const own = get().formBeforeLink;
    set({ shared: null, linkError: null, formBeforeLink: null });
    if (own) {
      // the user's form comes back as it was; its model is checked again like any chosen model
      const { model, ...form } = own;
      const changed = JSON.stringify(model) !== JSON.stringify(get().model);
      set(form);
      if (changed) get().setModel(model);
    }
    // the fragment goes too, or a reload would open the dismissed link again
    if (typeof location !== 'undefined' && hasSharePayload(location.hash))
      history.replaceState(history.state, '', location.href.split('#')[0]);
  },
  async makeLink(withResults) {
    const s = get();
    // a link with results carries the experiment that produced them, not the form (which may have changed since)
    const spec = withResults && s.result && s.resultSpec ? s.resultSpec : s.spec();
    const results = withResults && s.result ? summarize(spec, s.result) : undefined;
    // the Generate panel's prompt and settings, once used or changed (never the text)
    const generate =
      s.generation.report || canonicalJson(s.genForm) !== canonicalJson(DEFAULT_GENERATE) ? s.genForm : undefined;
    return shareUrl(location.href, { spec, results, generate });
  },
});
