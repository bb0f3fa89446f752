// Share links of format version 1 (tests/fixtures/shareLinks.v1.json, made before the recipe of steps) open in the
// page and restore their experiment: the form's chain and options, the experiment line the link was made with, and
// the figures it carried; nothing runs or downloads by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedLine, FIXTURES } from '../fixtures/shareLinks.ts';
import { SHOTS, openLab, startLab, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
});

const CHAIN: Record<string, string> = {
  fp: 'fp',
  'rtn-with-results': 'rtn',
  'gptq-groups-act-order': 'gptq',
  'gptq-static-groups-with-results': 'gptq',
  'rptq-w4a4-custom-clusters': 'rptq+gptq',
  'rptq-w4a4kv-with-results': 'rptq+gptq',
  'rptq-w16a8-per-tensor': 'rptq',
  'gptq-local-files-first-2-blocks': 'gptq',
};

describe('version-1 share links in the page (headless Chromium)', () => {
  it('every fixture opens and restores its experiment, its figures and the form', async () => {
    const context = await lab.browser.newContext({ viewport: { width: 1280, height: 900 } });
    for (const f of FIXTURES) {
      const page = await openLab(lab, f.url.slice(f.url.indexOf('#')), context);
      await page.waitForSelector('[data-testid=link-banner]');
      const line = expectedLine(f);
      expect(await page.locator('[data-testid=link-config]').innerText(), f.name).toBe(line);
      expect(await page.locator('[data-testid=config-line]').innerText(), f.name).toBe(line);
      expect(await page.locator('[data-testid=method]').inputValue(), f.name).toBe(CHAIN[f.name]);
      for (const [ds, v] of Object.entries(f.results?.ppl ?? {}))
        expect(Number(await page.locator(`[data-testid=shared-ppl-${ds}]`).innerText()), f.name).toBeCloseTo(v, 4);
      if (f.name === 'rptq-w4a4-custom-clusters') {
        expect(await page.locator('[data-testid=R1]').inputValue()).toBe('16');
        expect(await page.locator('[data-testid=normBits]').inputValue()).toBe('6');
        await page.screenshot({ path: `${SHOTS}links-v1-rptq.png`, fullPage: true });
      }
      expect(await page.locator('[data-testid=status]').innerText()).toBe('idle');
      await page.close();
    }
    await context.close();
  });
});
