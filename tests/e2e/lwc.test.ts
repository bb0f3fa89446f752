// Issue 24's page, end to end in headless Chromium on SwiftShader: the "DuQuant + LWC W4A4" preset trains the clip
// in the worker, the loss curves draw while it trains and stay in Inspect with their numbers, the learned clip per row
// and the error with and without it; the link carries the options; a reload mid-training resumes at the next block.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { decodeShareLink } from '../../src/pipeline/shareLink.ts';
import { SHOTS, openLab, runAndRead, setDatasets, startLab, type Lab } from './browser.ts';

let lab: Lab;

beforeAll(async () => {
  lab = await startLab();
});

afterAll(async () => {
  await lab?.close();
});

/** the preset on a small protocol: 2 × 128 calibration, 2 windows, 8 greedy steps, 2 epochs */
async function configure(page: Page) {
  await page.click('[data-testid="preset-DuQuant-+-LWC-W4A4"]');
  await page.selectOption('[data-testid=calib]', 'tinystories');
  await page.fill('[data-testid=nsamples]', '2');
  await setDatasets(page, ['tinystories']);
  await page.fill('[data-testid=seqlen]', '128');
  await page.fill('[data-testid=windows]', '2');
  await page.fill('[data-testid=maxRotationStep]', '8');
  await page.fill('[data-testid=epochs]', '2');
}

describe('learnable weight clipping in the page (headless Chromium, WebGPU on SwiftShader)', () => {
  it('the preset trains: live loss curves, then the curves, the learned clip and the error in Inspect; the link carries it', async () => {
    const page = await openLab(lab);
    await configure(page);
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(
      /^bundled stories260K · DuQuant\+LWC W4A4 · .*learnable clip: 2 epochs/,
    );
    expect(await page.locator('[data-testid=lwc]').isChecked()).toBe(true);
    await page.click('[data-testid=run]');
    // live: the curves of the blocks trained so far, while the run goes on
    await page.waitForSelector('[data-testid=lwc-loss] canvas', { timeout: 300_000 });
    await page.screenshot({ path: `${SHOTS}lwc-live.png`, fullPage: true });
    const ppl = await runAndRead(page, 'tinystories');
    expect(ppl).toBeGreaterThan(1);

    // Inspect: the loss per epoch of every block, read from the chart's own numbers
    await page.waitForSelector('[data-testid=inspect-panel] [data-testid=lwc-loss-chart] canvas');
    await page.click('[data-testid=inspect-panel] [data-testid=lwc-loss-chart-numbers] summary');
    const table = page.locator('[data-testid=inspect-panel] [data-testid=lwc-loss-chart-table]');
    const head = await table.locator('thead th').allInnerTexts();
    expect(head.slice(1)).toEqual(['block 0', 'block 1', 'block 2', 'block 3', 'block 4']);
    const rows = await table.locator('tbody tr').allInnerTexts();
    expect(rows).toHaveLength(2);
    const points = rows.map((r) => r.split('\t').slice(1).map(Number));
    console.log(`loss per epoch (rows) and block (columns): ${JSON.stringify(points)}`);
    for (const row of points) for (const v of row) expect(v).toBeGreaterThan(0);
    expect(await page.locator('[data-testid=lwc-loss-summary]').first().innerText()).toMatch(/^5 blocks trained/);
    await page.waitForSelector('[data-testid=lwc-error] canvas');
    expect(await page.locator('[data-testid=lwc-error-summary]').innerText()).toMatch(
      /The learned clip lowers the output error of \d+ of 35 layers/,
    );
    await page
      .locator('[data-testid=inspect-panel] [data-testid=lwc-loss]')
      .screenshot({ path: `${SHOTS}lwc-loss.png` });
    await page.locator('[data-testid=lwc-error]').screenshot({ path: `${SHOTS}lwc-error.png` });

    // the learned clip of each row, against the static 0.8, beside the quantized weights
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=lwc-clip] canvas', { timeout: 120_000 });
    await page.locator('[data-testid=lwc-clip]').screenshot({ path: `${SHOTS}lwc-clip.png` });

    await page.click('[data-testid=share-results]');
    const { spec } = await decodeShareLink(await page.locator('[data-testid=share-url]').inputValue());
    expect(spec.recipe.steps).toEqual([
      expect.objectContaining({ method: 'duquant', abits: 4, alpha: 0.5, maxRotationStep: 8 }),
      expect.objectContaining({ method: 'rtn', wbits: 4, lwc: true, epochs: 2 }),
    ]);
    expect(spec.recipe.steps[0]).not.toHaveProperty('swc');
    await page.close();
  });

  it('a reload while a block trains resumes at the next unfinished block', async () => {
    const page = await openLab(lab);
    await configure(page);
    // the first 3 blocks: a reload during block 2 or 3 leaves at least one finished
    await page.fill('[data-testid=nsamples]', '3');
    await page.fill('[data-testid=hiddenLayerNum]', '3');
    await page.click('[data-testid=run]');
    await page.waitForFunction(
      () =>
        /block [23]\/3: training the clip/.test(document.querySelector('[data-testid=eta]')?.textContent ?? '') ||
        /block [23]\/3: training the clip/.test(document.querySelector('[data-testid=stages]')?.textContent ?? ''),
      null,
      { timeout: 300_000 },
    );
    await page.reload();
    await page.waitForSelector('[data-testid=resume-hint]', { timeout: 120_000 });
    const hint = await page.locator('[data-testid=resume-hint]').innerText();
    console.log(`after the reload: ${hint}`);
    const kept = Number(hint.match(/left (\d) finished block/)![1]);
    expect(kept).toBeGreaterThanOrEqual(1);
    await runAndRead(page, 'tinystories');
    expect(await page.locator('[data-testid=quant-summary]').innerText()).toMatch(
      new RegExp(`${kept} blocks? restored from the cache`),
    );
    await page.close();
  });
});
