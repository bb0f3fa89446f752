// Issue 22: the page never shows a stale or impossible state (headless Chromium on SwiftShader, the bundled
// stories260K on the smallest calibration that exercises each path):
//   1. two runs in a row: Inspect's quantized weights follow the run they are shown under (never the previous one's);
//   4. a result keeps the experiment that produced it when the form changes;
//   5. the stages appear in the order they run, each once; an estimate only once a stage has a basis; the second
//      quantized run of the same evaluation reuses the full-precision figures from the cache and says so;
//   2. a page opened from a share link (even a refused one) checks the model as any load does: presets and export
//      formats it cannot run are disabled with the reason;
//   3. a link's experiment is not the saved form until the user takes it (other tabs keep theirs; dismiss restores).
// Item 6 (the resume hint after a reload) is in lab.test.ts, in the run it reloads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { encodeShareFragment } from '../../src/pipeline/shareLink.ts';
import type { ExperimentSpec } from '../../src/pipeline/experimentSpec.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import {
  SHOTS,
  classNamesOrFlags,
  openLab,
  recordEach,
  recordTexts,
  runAndRead,
  setDatasets,
  startLab,
  type Lab,
} from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
});

/** The smallest run of these tests: one calibration window of 128 tokens, one evaluation window of 128. */
async function small(page: Page) {
  await page.selectOption('[data-testid=calib]', 'tinystories');
  await page.fill('[data-testid=nsamples]', '1');
  await setDatasets(page, ['tinystories']);
  await page.fill('[data-testid=seqlen]', '128');
  await page.fill('[data-testid=windows]', '1');
}

async function linkPath(spec: Record<string, unknown>): Promise<string> {
  return `#${await encodeShareFragment({ spec: spec as unknown as ExperimentSpec })}`;
}

describe('what the page shows belongs to what it is shown under (headless Chromium)', () => {
  it('two runs in a row: the stages in order with the FP figure reused, Inspect follows the new run, a result keeps its experiment', async () => {
    const page = await openLab(lab);
    await page.selectOption('[data-testid=method]', 'gptq');
    await page.fill('[data-testid=wbits]', '3');
    await small(page);
    // which stage is active and what each row says, at every change; and every estimate with the label beside it
    const states = await recordEach(
      page,
      `Array.from(document.querySelectorAll('[data-testid=stages] .stage')).map((e) => e.dataset.state + ' ' + e.querySelector('.stage-name').textContent).join(' | ')`,
    );
    const etas = await recordTexts(page, '[data-testid=eta]');
    const fp = await runAndRead(page, 'tinystories');
    const firstFp = Number(await page.locator('[data-testid=ppl-fp-tinystories]').innerText());
    expect(fp).toBeGreaterThan(1);

    // 5. the stages as planned, in the order they run, each listed once; none goes back to running once done
    const seen = await states();
    const order = ['download and load', 'evaluate full precision', 'calibrate and quantize', 'evaluate quantized'];
    for (const snapshot of seen) expect(snapshot.split(' | ').map((s) => s.replace(/^\w+ /, ''))).toEqual(order);
    const active = seen.map((s) => s.split(' | ').findIndex((x) => x.startsWith('active ')));
    for (let i = 1; i < active.length; i++) expect(active[i]).toBeGreaterThanOrEqual(active[i - 1]);
    // (before the worker's first report nothing is active: every stage waits)
    expect(new Set(active)).toEqual(new Set([-1, 0, 1, 2, 3]));
    // an estimate appears only once the stage has computed something: never beside a stage's start
    const estimates = (await etas()).filter((t) => /left in this stage/.test(t));
    expect(estimates.filter((t) => /evaluation starting|block 0\/|starting the worker/.test(t))).toEqual([]);

    // 1. the quantized weights of block 1's q_proj, shown for GPTQ W3
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=weight-grid] h4');
    expect(await page.locator('[data-testid=weight-grid] h4').first().innerText()).toBe(
      'Grid: 3-bit codes, 1 group per row',
    );
    expect(await page.locator('[data-testid=weight-caption]').innerText()).toMatch(/^block 1, q_proj \[64 × 64\]/);

    // the second run, RPTQ W4A4 on the same evaluation: nothing of GPTQ W3's weights may show under it
    await page.click('[data-testid=preset-W4A4]');
    await page.fill('[data-testid=nsamples]', '1');
    const captions = await recordEach(
      page,
      `(document.querySelector('[data-testid=weight-grid] h4')?.textContent ?? '') + ' ‖ ' + (document.querySelector('[data-testid=weight-bits]')?.textContent ?? '') + ' ‖ ' + (document.querySelector('[data-testid=status]')?.textContent ?? '')`,
    );
    await runAndRead(page, 'tinystories');
    // shown again by itself, for the new run (once shown, the weights follow the run)
    await page.waitForSelector('[data-testid=weight-grid] h4');
    const grid = await page.locator('[data-testid=weight-grid] h4').first().innerText();
    expect(grid).toBe('Grid: 4-bit codes, 32 groups per row (each column’s group is its input cluster)');
    expect(await page.locator('[data-testid=weight-bits]').innerText()).toMatch(
      /^Each row has 32 groups .* Bits per weight \d+\.\d\d = 4 for the codes/,
    );
    // from the moment the second run starts, GPTQ W3's grid is never on screen again
    const seenCaptions = await captions();
    const from = seenCaptions.findIndex((c) => c.endsWith('‖ running'));
    expect(from).toBeGreaterThanOrEqual(0);
    console.log(`Inspect captions from the second run on: ${JSON.stringify(seenCaptions.slice(from))}`);
    expect(seenCaptions.slice(from).filter((c) => /3-bit codes/.test(c))).toEqual([]);
    // 5. the full-precision evaluation ran before: its figure comes from the cache, said so
    await page.waitForSelector('[data-testid=fp-from-cache]');
    expect(Number(await page.locator('[data-testid=ppl-fp-tinystories]').innerText())).toBe(firstFp);
    await page.locator('[data-testid=inspect-panel]').screenshot({ path: `${SHOTS}state-inspect-second-run.png` });

    // 4. the form changes: the figure stays under the experiment that produced it, and the page says the form moved on
    const resultLine = await page.locator('[data-testid=result-config]').innerText();
    expect(resultLine).toMatch(/^bundled stories260K · RPTQ W4A4 · calib tinystories 1×128 seed 0/);
    expect(await page.locator('[data-testid=result-stale]').count()).toBe(0);
    await page.selectOption('[data-testid=method]', 'rtn');
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(/^bundled stories260K · RTN W4 · /);
    expect(await page.locator('[data-testid=result-config]').innerText()).toBe(resultLine);
    expect(await page.locator('[data-testid=result-stale]').innerText()).toMatch(/The form has changed since this run/);
    expect(await page.locator('[data-testid=ppl-table] th').allInnerTexts()).toContain('RPTQ W4A4');
    await page.locator('[data-testid=run-panel]').screenshot({ path: `${SHOTS}state-result-after-form-change.png` });
    await page.selectOption('[data-testid=method]', 'rptq+gptq');
    expect(await page.locator('[data-testid=result-stale]').count()).toBe(0);
    expect(await classNamesOrFlags(page)).toEqual([]);
    await page.close();
  });

  it('a link-opened page checks the model as any load does; a forged link leaves the saved form; dismiss restores it', async () => {
    const context = await lab.browser.newContext({ viewport: { width: 1280, height: 900 } });
    // the user's own form, kept by this browser
    const own = await openLab(lab, '', context);
    await own.click('[data-testid=preset-RTN-W4]');
    await own.fill('[data-testid=nsamples]', '3');
    const ownLine = await own.locator('[data-testid=config-line]').innerText();
    expect(ownLine).toMatch(/RTN W4 · calib .* 3×/);
    await own.close();

    // 2. a refused link: the page is left as it was, and the model is checked like any load
    const refused = await openLab(lab, '#x=2.AAAA.broken', context);
    await refused.waitForSelector('[data-testid=link-error]');
    await refused.waitForSelector('[data-testid=model-fits]');
    expect(await refused.locator('[data-testid=preset-GPTQ-W3-g128]').isDisabled()).toBe(true);
    expect(await refused.locator('[data-testid=config-line]').innerText()).toBe(ownLine);
    await refused.close();

    // a forged link: GPTQ W3 g128 (which stories260K's widths refuse), calibrating on a URL
    const forged = {
      model: { kind: 'bundled', id: 'stories260K' },
      recipe: makeRecipe({
        calib: 'https://example.com/calib.txt',
        nsamples: 2,
        seqlen: 128,
        steps: [{ method: 'gptq', wbits: 3, groupsize: 128 }],
      }),
      eval: { datasets: ['tinystories'], seqlen: 128, windows: 1 },
    };
    const page = await openLab(lab, await linkPath(forged), context);
    await page.waitForSelector('[data-testid=link-banner]');
    // the model is probed as on a normal load, and what it cannot run says so before Run
    await page.waitForSelector('[data-testid=model-fits]');
    expect(await page.locator('[data-testid=preset-GPTQ-W3-g128]').isDisabled()).toBe(true);
    expect(await page.locator('[data-testid=preset-GPTQ-W3-g128]').getAttribute('title')).toMatch(
      /^Group size 128 does not divide/,
    );
    expect(await page.locator('[data-testid=run]').isDisabled()).toBe(true);
    await page.click('[data-testid=link-calib-allow]');
    expect(await page.locator('[data-testid=link-problem]').innerText()).toMatch(/^Group size 128 does not divide/);
    expect(await page.locator('[data-testid=link-rerun]').isDisabled()).toBe(true);
    expect(await page.locator('[data-testid=run]').isDisabled()).toBe(true);
    expect(await page.locator('[data-testid=run-blocked]').innerText()).toMatch(/Group size 128 does not divide/);
    await page.screenshot({ path: `${SHOTS}state-forged-link.png` });

    // 3. another tab opened meanwhile comes up with the user's own form, not the link's
    const other = await openLab(lab, '', context);
    expect(await other.locator('[data-testid=config-line]').innerText()).toBe(ownLine);
    expect(await other.locator('[data-testid=form-problem]').count()).toBe(0);
    await other.close();
    // dismissing the link puts the user's form back in this tab too
    await page.click('[data-testid=link-dismiss]');
    expect(await page.locator('[data-testid=config-line]').innerText()).toBe(ownLine);
    await page.close();

    // a valid link taken with "use these settings" becomes the saved form
    const rtn = {
      ...forged,
      recipe: makeRecipe({ calib: 'tinystories', nsamples: 1, seqlen: 128, steps: [{ method: 'rtn', wbits: 4 }] }),
    };
    const taken = await openLab(lab, await linkPath(rtn), context);
    await taken.waitForSelector('[data-testid=model-fits]');
    const linkLine = await taken.locator('[data-testid=link-config]').innerText();
    const meanwhile = await openLab(lab, '', context);
    expect(await meanwhile.locator('[data-testid=config-line]').innerText()).toBe(ownLine);
    await meanwhile.close();
    await taken.click('[data-testid=link-accept]');
    const after = await openLab(lab, '', context);
    expect(await after.locator('[data-testid=config-line]').innerText()).toBe(linkLine);
    await after.close();

    // 2. run on the link-opened page: the export offers exactly the formats this model's widths can hold
    await runAndRead(taken, 'tinystories');
    await taken.click('[data-testid=export-panel] summary');
    expect(await taken.locator('[data-testid=export-format] option[value=gptq]').isDisabled()).toBe(true);
    expect(await taken.locator('[data-testid=export-refusal-gptq]').innerText()).toMatch(
      /^Not as gptq: gate_proj has 172 outputs/,
    );
    expect(await taken.locator('[data-testid=export-possible]').innerText()).toBe(
      'This run can be exported as fake or bundle.',
    );
    expect(await classNamesOrFlags(taken)).toEqual([]);
    await taken.locator('[data-testid=export-panel]').screenshot({ path: `${SHOTS}state-link-export.png` });
    await taken.close();
    await context.close();
  });
});

describe('what a progress tick re-renders (headless Chromium)', () => {
  it('while a run reports progress, only the run panel commits', async () => {
    const context = await lab.browser.newContext({ viewport: { width: 1440, height: 900 } });
    // the page counts each panel's commits when asked before it loads (App's Profilers)
    await context.addInitScript(
      () => void ((window as unknown as { __quantlabRenders: object }).__quantlabRenders = {}),
    );
    const page = await openLab(lab, '', context);
    await page.selectOption('[data-testid=method]', 'fp');
    await setDatasets(page, ['tinystories']);
    await page.fill('[data-testid=seqlen]', '128');
    await page.fill('[data-testid=windows]', '12');
    const seen = await recordEach(
      page,
      `(document.querySelector('[data-testid=eta]')?.textContent ?? '').split(' · ')[0] + ' ‖ ' + ` +
        `JSON.stringify(window.__quantlabRenders)`,
    );
    await runAndRead(page, 'tinystories');
    const snapshots = (await seen()).map((t) => {
      const [label, counts] = t.split(' ‖ ');
      return { label, counts: JSON.parse(counts) as Record<string, number> };
    });
    const at = (w: number) => snapshots.find((x) => new RegExp(`window ${w}/12`).test(x.label))!;
    const [from, to] = [at(3), at(10)];
    const commits = Object.fromEntries(
      Object.keys(to.counts).map((id) => [id, to.counts[id] - (from.counts[id] ?? 0)]),
    );
    console.log(`commits per panel between windows 3 and 10 of 12: ${JSON.stringify(commits)}`);
    expect(commits.run).toBeGreaterThan(0);
    for (const [id, n] of Object.entries(commits)) if (id !== 'run') expect(n, id).toBe(0);
    await context.close();
  });
});

/** Controls on the page without an accessible name (aria-label, a label, a title or their own text). */
function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('button, input, select, textarea'))
      .filter((el) => {
        const input = el as HTMLInputElement;
        const name =
          el.getAttribute('aria-label') ||
          el.title ||
          (input.labels &&
            Array.from(input.labels)
              .map((l) => l.textContent)
              .join('')) ||
          (el.tagName === 'BUTTON' ? el.textContent : '');
        return !name?.trim();
      })
      .map((el) => el.outerHTML.slice(0, 120)),
  );
}

describe('the page at a glance (headless Chromium): layout, keyboard, charts, themes', () => {
  it('pick → run → look → compare in view at 1440 × 900; every control reachable and named; charts as tables; dark; 390 px', async () => {
    const context = await lab.browser.newContext({ viewport: { width: 1440, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    const page = await openLab(lab, '', context);
    await page.click('[data-testid=preset-RTN-W4]');
    await small(page);
    await runAndRead(page, 'tinystories');
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=weight-grid-fp] canvas');

    // the main loop without scrolling the page: the presets, Run and its figure, Inspect's charts, the Results row
    expect(await page.evaluate(() => document.documentElement.scrollHeight <= innerHeight + 1)).toBe(true);
    for (const sel of [
      '[data-testid=preset-RTN-W4]',
      '[data-testid=run]',
      '[data-testid=ppl-tinystories]',
      '[data-testid=layer-error-chart]',
      '[data-testid=runs-table] tbody tr',
    ]) {
      const box = (await page.locator(sel).first().boundingBox())!;
      expect(box.y + Math.min(box.height, 20), sel).toBeLessThanOrEqual(900);
      expect(box.x + Math.min(box.width, 20), sel).toBeLessThanOrEqual(1440);
    }
    // the picture of the page as it opens onto a result: every column at its top
    await page.evaluate(() => document.querySelectorAll('.col').forEach((c) => (c.scrollTop = 0)));
    await page.screenshot({ path: `${SHOTS}layout-1440-light.png` });

    // 11. every control is named, and the keyboard reaches the file pickers
    expect(await unnamedControls(page)).toEqual([]);
    const reached = new Set<string>();
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let i = 0; i < 300; i++) {
      await page.keyboard.press('Tab');
      reached.add(
        await page.evaluate(
          () => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName ?? '',
        ),
      );
    }
    for (const id of ['model-folder', 'import-bundle-folder', 'import-bundle', 'run', 'load-weights'])
      expect([...reached], id).toContain(id);

    // charts have a caption and their numbers on demand; heatmaps a colour scale
    expect(await page.locator('[data-testid=layer-error-chart]').getAttribute('aria-label')).toMatch(
      /relative output error/,
    );
    await page.click('[data-testid=layer-error-chart-numbers] summary');
    expect(await page.locator('[data-testid=layer-error-chart-table] tbody tr').count()).toBe(5);
    expect(await page.locator('[data-testid=weight-grid-fp-scale]').count()).toBe(1);
    // 12. the storage table names what it counts; copying a share link says so
    expect(await page.locator('[data-testid=storage-table]').innerText()).toMatch(/5 quantized blocks, /);
    await page.click('[data-testid=share]');
    expect(await page.locator('[data-testid=share-copied]').innerText()).toBe('Copied the link to the clipboard.');

    // 13. the dark theme follows the system setting, charts included
    await page.emulateMedia({ colorScheme: 'dark' });
    const background = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    expect(background).toBe('rgb(17, 20, 24)');
    await page.waitForSelector('[data-testid=weight-grid-fp] canvas');
    await page.evaluate(() => document.querySelectorAll('.col').forEach((c) => (c.scrollTop = 0)));
    await page.screenshot({ path: `${SHOTS}layout-1440-dark.png` });
    await page.emulateMedia({ colorScheme: 'light' });

    // readable at 390 px: one column, nothing wider than the screen
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector('[data-testid=weight-grid-fp] canvas');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await page.screenshot({ path: `${SHOTS}layout-390.png`, fullPage: true });
    await context.close();
  });
});
