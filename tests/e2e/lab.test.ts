// Issue 5's acceptance, end to end in headless Chromium on SwiftShader, on the bundled stories260K:
//   1. RTN W4 on 2 calibration windows: perplexity, the per-layer error chart and block 0's range chart;
//   2. a share link restores the experiment and its figures in a new page (and the CLI reads it the same);
//      a corrupted link shows an error and the page stays usable;
//   3. a GPTQ run reloaded after its first block resumes from IndexedDB and ends on the uninterrupted figure;
//      an identical experiment then comes straight from the cache;
//   4. RPTQ's clusters, reorder, activation heatmap and quantized weights in the Inspect views.
// Cancel (within a second) is in page.test.ts. Screenshots of each view go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import { decodeShareLink } from '../../src/pipeline/shareLink.ts';
import { describeSpec } from '../../src/pipeline/experimentSpec.ts';
import { MODELS, sharedGpu } from '../helpers.ts';
import { SHOTS, openLab, recordTexts, runAndRead, setDatasets, startLab, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
});

/** A quantization recipe in the form: preset or method, then the small calibration of these tests. */
async function configure(
  page: Page,
  o: { preset?: string; method?: string; wbits?: string; nsamples: string; seqlen: string; windows: string },
) {
  if (o.preset) await page.click(`[data-testid="preset-${o.preset}"]`);
  if (o.method) await page.selectOption('[data-testid=method]', o.method);
  if (o.wbits) await page.fill('[data-testid=wbits]', o.wbits);
  await page.selectOption('[data-testid=calib]', 'tinystories');
  await page.fill('[data-testid=nsamples]', o.nsamples);
  await setDatasets(page, ['tinystories']);
  await page.fill('[data-testid=seqlen]', o.seqlen);
  await page.fill('[data-testid=windows]', o.windows);
}

describe('the lab (headless Chromium, WebGPU on SwiftShader)', () => {
  let rtnLink = '';
  let rtnPpl = 0;
  let rtnConfig = '';

  it('RTN W4 on 2 calibration windows: perplexity, per-layer errors, and the range chart of block 0', async () => {
    const page = await openLab(lab);
    // before any download: what the model is and whether it fits
    await page.selectOption('[data-testid=model-select]', 'bundled:stories260K');
    await page.waitForSelector('[data-testid=model-fits]');
    expect(await page.locator('[data-testid=model-probe]').innerText()).toMatch(/0\.26M parameters/);
    await page.screenshot({ path: `${SHOTS}lab-start.png`, fullPage: true });

    await configure(page, { preset: 'RTN-W4', nsamples: '2', seqlen: '256', windows: '2' });
    rtnPpl = await runAndRead(page, 'tinystories');
    expect(rtnPpl).toBeGreaterThan(1);
    await page.waitForSelector('[data-testid=layer-error-chart] canvas');
    await page.selectOption('[data-testid=inspect-layer]', '0');
    await page.selectOption('[data-testid=inspect-site]', 'attn_norm');
    await page.waitForSelector('[data-testid=range-chart] canvas');
    expect(await page.locator('[data-testid=inspect-panel] h3', { hasText: 'Channel ranges' }).innerText()).toMatch(
      /block 0, attention-norm output .* 64 channels/,
    );
    expect(await page.locator('[data-testid=runs-table] tbody tr').count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}lab-rtn.png`, fullPage: true });

    rtnConfig = await page.locator('[data-testid=config-line]').innerText();
    await page.click('[data-testid=share-results]');
    rtnLink = await page.locator('[data-testid=share-url]').inputValue();
    expect(rtnLink).toContain('#x=2.');
    await page.close();
  });

  it('the share link restores the experiment and its figures in a new page; the CLI reads the same experiment', async () => {
    const page = await openLab(lab, rtnLink.slice(rtnLink.indexOf('/#') + 1));
    await page.waitForSelector('[data-testid=link-banner]');
    expect(await page.locator('[data-testid=config-line]').innerText()).toBe(rtnConfig);
    expect(await page.locator('[data-testid=link-config]').innerText()).toBe(rtnConfig);
    expect(Number(await page.locator('[data-testid=shared-ppl-tinystories]').innerText())).toBeCloseTo(rtnPpl, 4);
    // nothing ran: only an offer to run; the model is checked (config.json and headers) as any load does
    expect(await page.locator('[data-testid=status]').innerText()).toBe('idle');
    await page.waitForSelector('[data-testid=model-fits]');
    await page.screenshot({ path: `${SHOTS}lab-shared-link.png`, fullPage: true });
    // the command line prints this very line for the same link (npm run quantlab -- --from-link URL)
    expect(describeSpec((await decodeShareLink(rtnLink)).spec)).toBe(rtnConfig);
    await page.close();
  });

  it('a corrupted link shows what is wrong, changes nothing, and the page stays usable', async () => {
    const fresh = await openLab(lab);
    const defaults = await fresh.locator('[data-testid=config-line]').innerText();
    await fresh.close();
    const hash = rtnLink.slice(rtnLink.indexOf('#'));
    for (const bad of [hash.slice(0, -12), hash.replace(/\.([A-Za-z0-9_-]{20})/, '.<img src=x onerror=alert(1)>')]) {
      const page = await openLab(lab, `/${bad}`);
      await page.waitForSelector('[data-testid=link-error]');
      expect(await page.locator('[data-testid=link-error]').innerText()).toMatch(
        /could not be opened: the share link is damaged/,
      );
      expect(await page.locator('img[src=x]').count()).toBe(0);
      expect(await page.locator('[data-testid=config-line]').innerText()).toBe(defaults);
      await page.click('[data-testid=preset-W4A8]');
      expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(/RPTQ W4A8/);
      // the model is checked as on any load (a refused link does not skip it), then Run is on
      await page.waitForSelector('[data-testid=model-fits]');
      expect(await page.locator('[data-testid=run]').isEnabled()).toBe(true);
      await page.screenshot({ path: `${SHOTS}lab-bad-link.png` });
      await page.close();
    }
  });

  it('a GPTQ run reloaded after its first block resumes from the cache with the uninterrupted figure; re-running is instant', async () => {
    const page = await openLab(lab);
    await configure(page, { method: 'gptq', wbits: '3', nsamples: '4', seqlen: '256', windows: '4' });
    await page.click('[data-testid=run]');
    await page.waitForFunction(
      () => /gptq block [1-4]\/5/.test(document.querySelector('[data-testid=eta]')?.textContent ?? ''),
      null,
      { timeout: 300_000 },
    );
    await page.reload();
    await expect
      .poll(() => page.locator('[data-testid=model-select] option[value="bundled:stories260K"]').count(), {
        timeout: 120_000,
      })
      .toBe(1);
    // the form came back from localStorage; the page says that Run resumes from the blocks the reload left behind
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(
      /GPTQ W3 · calib tinystories 4×256 seed 0/,
    );
    expect(await page.locator('[data-testid=status]').innerText()).toBe('idle');
    await page.waitForSelector('[data-testid=resume-hint]');
    const hint = await page.locator('[data-testid=resume-hint]').innerText();
    console.log(`after the reload: ${hint}`);
    expect(hint).toMatch(
      /^Run resumes after block [1-4] of 5: an earlier run of this recipe left [1-4] finished blocks? in this browser's storage\.$/,
    );
    await page.screenshot({ path: `${SHOTS}lab-resume-hint.png` });
    const resumed = await runAndRead(page, 'tinystories');
    const summary = await page.locator('[data-testid=quant-summary]').innerText();
    console.log(`resumed: ${summary}`);
    expect(summary).toMatch(/[1-4] blocks? restored from the cache/);
    // as many blocks restored as the hint said were kept
    expect(summary).toContain(`${hint.match(/left (\d)/)![1]} block`);
    const node = await runExperiment(
      {
        datasets: ['tinystories'],
        windows: 4,
        skipBefore: true,
        recipe: makeRecipe({
          nsamples: 4,
          seqlen: 256,
          calib: 'tinystories',
          seed: 0,
          steps: [{ method: 'gptq', wbits: 3 }],
        }),
      },
      { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu: await sharedGpu() },
    );
    console.log(`GPTQ W3 stories260K: resumed in the page ${resumed}, uninterrupted in Node ${node.ppl.tinystories}`);
    expect(Math.abs(resumed / node.ppl.tinystories - 1)).toBeLessThan(1e-6);

    const t = Date.now();
    await page.click('[data-testid=run]');
    await page.waitForSelector('[data-testid=from-cache]', { timeout: 30_000 });
    console.log(`identical experiment from the cache in ${Date.now() - t} ms`);
    expect(Number(await page.locator('[data-testid=ppl-tinystories]').getAttribute('data-value'))).toBe(resumed);
    await page.waitForSelector('[data-testid=storage-table]');
    expect(await page.locator('[data-testid=storage-table]').innerText()).toMatch(/stories260K.*5 quantized blocks, /s);

    // the resumed run is in the results table, kept across the reload; the identical re-run from the cache adds no
    // second row; the table downloads with every option
    const boxes = page.locator('[data-testid=runs-table] input[aria-label=compare]');
    expect(await boxes.count()).toBe(1);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-csv]')]);
    const csv = Buffer.concat(await (await download.createReadStream()).toArray()).toString();
    expect(csv).toMatch(
      /^time,model,label,dataset,ppl,fp_ppl,delta,bits_per_weight,code_bits,quantize_s,wall_s,eval_seqlen,eval_windows,steps,calib,nsamples,calib_seqlen,seed,hidden_layer_num,rtn\.wbits,.*,gptq\.wbits,gptq\.groupsize,.*,rptq\.abits,.*,rptq\.R1_clusters,/,
    );
    expect(csv.split('\n')[1]).toMatch(/,GPTQ W3,tinystories,.*,gptq,tinystories,4,256,0,,,+3,-1,false,/);
    await page.screenshot({ path: `${SHOTS}lab-resumed.png`, fullPage: true });

    // clearing the model's storage empties the panel; the results table stays
    await page.click('[data-testid=storage-table] button');
    await expect.poll(() => page.locator('[data-testid=storage-table]').count(), { timeout: 60_000 }).toBe(0);
    expect(await boxes.count()).toBe(1);
    await page.close();
  });

  it('RPTQ W4A4: clusters and reorder in the range chart, activation errors, a heatmap and the quantized weights', async () => {
    const page = await openLab(lab);
    await configure(page, { preset: 'W4A4', nsamples: '2', seqlen: '128', windows: '2' });
    // the stages a run passes through, in order: the load stage never comes back once quantization started
    const stagesSeen = await recordTexts(page, '.stage.active .stage-name');
    await runAndRead(page, 'tinystories');
    const stages = await stagesSeen();
    expect(stages.filter((s) => s === 'download and load').length).toBeLessThanOrEqual(1);
    expect(stages.indexOf('calibrate and quantize')).toBeGreaterThan(stages.indexOf('download and load'));
    expect(await page.locator('[data-testid=eta]').count()).toBe(0);
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.selectOption('[data-testid=inspect-site]', 'down_in');
    await page.click('[data-testid=order-reordered]');
    await page.waitForSelector('[data-testid=range-chart] canvas');
    expect(await page.locator('[data-testid=cluster-table] tbody tr').count()).toBeGreaterThan(8);
    await page.waitForSelector('[data-testid=act-error-chart] canvas');
    // at R2 on a rotary model the clusters apply after RoPE, unfolded: the chart shows the original order, and says why
    await page.selectOption('[data-testid=inspect-site]', 'q');
    expect(await page.locator('[data-testid=order-reordered]').isChecked()).toBe(false);
    expect(await page.locator('[data-testid=no-reorder]').innerText()).toMatch(/after RoPE at run time/);
    await page.selectOption('[data-testid=inspect-site]', 'down_in');
    await page.click('[data-testid=load-heatmap]');
    await page.waitForSelector('[data-testid=heatmap] canvas', { timeout: 120_000 });
    await page.selectOption('[data-testid=inspect-role]', 'down');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=weight-view]', { timeout: 120_000 });
    expect(await page.locator('[data-testid=weight-caption]').innerText()).toMatch(/^block 1, down_proj \[64 × 172\]/);
    // the bits per weight say where they go: 4-bit codes and one scale and zero per row × input cluster
    expect(await page.locator('[data-testid=weight-bits]').innerText()).toMatch(
      /Each row has 32 groups .* up to 32 × 16 = 512 distinct values per row\. Bits per weight 9\.95 = 4 for the codes \+ 5\.95 for the scales and zeros/,
    );
    await page.locator('[data-testid=inspect-panel]').screenshot({ path: `${SHOTS}lab-inspect.png` });
    await page.screenshot({ path: `${SHOTS}lab-rptq.png`, fullPage: true });

    // W4A8: activation errors near 1e-5 read as such on the log axis and in the hover read-out
    await page.click('[data-testid=preset-W4A8]');
    await runAndRead(page, 'tinystories');
    await page.selectOption('[data-testid=inspect-site]', 'q');
    await page.waitForSelector('[data-testid=act-error-chart] canvas');
    const chart = page.locator('[data-testid=act-error-chart]');
    await chart.scrollIntoViewIfNeeded();
    const box = (await chart.locator('.u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2, { steps: 4 });
    await expect.poll(() => chart.locator('.u-legend').innerText(), { timeout: 60_000 }).toMatch(/e-/);
    const readout = await chart.locator('.u-legend').innerText();
    console.log(`hover read-out: ${readout.replace(/\n/g, ' ')}`);
    // uPlot draws the axis on canvas (its decade labels are tested in charts.test.ts); the read-out is text
    expect(readout).toMatch(/\d\.\de-[4-6]/);
    expect(readout).not.toMatch(/(^|\s)0(\s|$)/);
    await chart.screenshot({ path: `${SHOTS}lab-activation-error-w4a8.png` });

    // RPTQ then RTN, from the same form: another chain, reported per step
    await page.selectOption('[data-testid=method]', 'rptq+rtn');
    await page.click('[data-testid=preset-W4A4]');
    expect(await page.locator('[data-testid=method]').inputValue()).toBe('rptq+gptq');
    await page.selectOption('[data-testid=method]', 'rptq+rtn');
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(/RPTQ\+RTN W4A4 · /);
    await runAndRead(page, 'tinystories');
    expect(await page.locator('[data-testid=steps-summary]').innerText()).toMatch(
      /^steps: RPTQ \(statistics, fold and quantizers [\d.]+ s\) → RTN$/,
    );
    await page.locator('[data-testid=runs-table] tbody tr').first().locator('button[aria-label=remove]').click();
    await page.click('[data-testid=preset-W4A8]');

    // the results table: config columns, bits split, a compare that highlights what differs; an identical cached
    // re-run adds no row. An answer from the cache can be "running" for less time than a poll takes to see it, so
    // this waits for the cached result itself, not for the running state
    await page.click('[data-testid=run]');
    await page.waitForSelector('[data-testid=from-cache]', { timeout: 30_000 });
    const rows = page.locator('[data-testid=runs-table] tbody tr');
    expect(await rows.count()).toBe(2);
    expect(await page.locator('[data-testid=run-config]').first().innerText()).toMatch(
      /steps RPTQ → GPTQ.*calibration tinystories 2×128.*seed 0.*abits 8.*R1 clusters 32.*R5 clusters 32.*wbits 4.*eval seqlen 128.*eval windows 2/s,
    );
    expect(await page.locator('[data-testid=run-bits]').first().innerText()).toMatch(
      /^\d+\.\d\d = 4 codes \+ \d+\.\d\d scales\/zeros$/,
    );
    await rows.nth(0).locator('input[aria-label=compare]').check();
    await rows.nth(1).locator('input[aria-label=compare]').check();
    const differs = await page.locator('[data-testid=compare] tr.differs td:first-child').allInnerTexts();
    expect(differs).toEqual(expect.arrayContaining(['method', 'abits']));
    expect(differs).not.toContain('seed');
    await page.locator('[data-testid=results-panel]').screenshot({ path: `${SHOTS}lab-results-compare.png` });
    // at 800 px the table scrolls inside its panel instead of clipping its last column
    await page.setViewportSize({ width: 800, height: 900 });
    const panel = (await page.locator('[data-testid=results-panel]').boundingBox())!;
    expect(panel.x + panel.width).toBeLessThanOrEqual(800);
    await page.locator('[data-testid=results-panel]').screenshot({ path: `${SHOTS}lab-results-800px.png` });
    await page.close();
  });
  it('DuQuant W4A4 from its preset: the four-stage outlier view, the rotation heatmap, per-token errors; the link carries its options', async () => {
    const page = await openLab(lab);
    await configure(page, { preset: 'DuQuant-W4A4', nsamples: '2', seqlen: '128', windows: '2' });
    expect(await page.locator('[data-testid=method]').inputValue()).toBe('duquant+rtn');
    // fewer greedy steps than the reference's 256 keep the test short; the view is the same
    await page.fill('[data-testid=maxRotationStep]', '16');
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(/DuQuant W4A4 · /);
    const ppl = await runAndRead(page, 'tinystories');
    expect(ppl).toBeGreaterThan(1);
    expect(await page.locator('[data-testid=steps-summary]').innerText()).toMatch(/^steps: DuQuant .* → RTN$/);
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.selectOption('[data-testid=inspect-site]', 'down_in');
    await page.waitForSelector('[data-testid=duquant-stages] canvas');
    const stages = await page.locator('[data-testid=duquant-stages] h4').allInnerTexts();
    expect(stages.map((t) => t.split(':')[0])).toEqual([
      'original',
      'smoothed',
      'after R₁',
      'after perm 1',
      'after R₂',
    ]);
    await page.waitForSelector('[data-testid=duquant-rotation-heatmap] canvas');
    expect(await page.locator('[data-testid=duquant-steps]').innerText()).toMatch(
      /^\d+ greedy steps? kept of 16: max − min /,
    );
    await page.selectOption('[data-testid=duquant-rotation]', '1');
    await page.waitForSelector('[data-testid=duquant-token-error] canvas');
    await page.locator('[data-testid=inspect-panel]').screenshot({ path: `${SHOTS}lab-duquant.png` });
    // a site DuQuant does not transform says which ones it does
    await page.selectOption('[data-testid=inspect-site]', 'o_in');
    await page.waitForSelector('[data-testid=duquant-stages] canvas');
    // the share link carries DuQuant's options
    await page.click('[data-testid=share-results]');
    const link = await page.locator('[data-testid=share-url]').inputValue();
    const { spec } = await decodeShareLink(link);
    expect(spec.recipe.steps).toEqual([
      expect.objectContaining({ method: 'duquant', abits: 4, maxRotationStep: 16, alpha: 0.6, lac: 0.9, swc: 0.8 }),
      expect.objectContaining({ method: 'rtn', wbits: 4 }),
    ]);
    await page.close();
  });

  it('CLAQ from its presets: the column bit strip, reserved values, a codebook over its column, and the error against GPTQ', async () => {
    const page = await openLab(lab);
    const labels = await page.locator('[data-testid^=preset-CLAQ]').allInnerTexts();
    expect(labels).toEqual([
      'CLAQ W4',
      'CLAQ W3',
      'CLAQ W2',
      'CLAQ 2.1-bit adaptive',
      'CLAQ 3.12-bit adaptive',
      'CLAQ W2 + outlier reservation',
      'CLAQ 2.12-bit adaptive + outliers',
    ]);
    // a preset sets every switch: one never inherits another's
    await page.click('[data-testid="preset-CLAQ-2.12-bit-adaptive-+-outliers"]');
    await page.click('[data-testid="preset-CLAQ-W3"]');
    expect(await page.locator('[data-testid=outlierColDynamic]').isChecked()).toBe(false);
    expect(await page.locator('[data-testid=outlierorder]').inputValue()).toBe('');
    await configure(page, { preset: 'CLAQ-2.12-bit-adaptive-+-outliers', nsamples: '2', seqlen: '128', windows: '2' });
    expect(await page.locator('[data-testid=outlierColDynamic]').isChecked()).toBe(true);
    expect(await page.locator('[data-testid=method]').inputValue()).toBe('claq');
    await page.check('[data-testid=baselines]');
    const ppl = await runAndRead(page, 'tinystories');
    expect(ppl).toBeGreaterThan(1);
    // the results row says where the bits go
    expect(await page.locator('[data-testid=runs-table] tbody tr').first().innerText()).toMatch(
      /codebooks and reserved values/,
    );
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.selectOption('[data-testid=inspect-role]', 'down');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=claq-view]', { timeout: 120_000 });
    await page.waitForSelector('[data-testid=claq-bit-strip] canvas');
    await page.waitForSelector('[data-testid=claq-reserved] canvas');
    // 172 columns at 2.05 bits on average: round(172 · 0.025) = 4 of them at 4 bits
    expect(await page.locator('[data-testid=claq-bit-summary]').innerText()).toMatch(
      /^4 of 172 columns at 4 bits, the rest at 2; \d+ values kept in full precision$/,
    );
    await page.selectOption('[data-testid=claq-order]', 'sorted');
    await page.fill('[data-testid=claq-column]', '3');
    expect(await page.locator('[data-testid=claq-codebook]').innerText()).toMatch(/^\d bits: (4|16) centroids /);
    await page.waitForSelector('[data-testid=claq-codebook-chart] canvas');
    await page.waitForSelector('[data-testid=claq-vs-gptq] canvas');
    await page.locator('[data-testid=inspect-panel]').screenshot({ path: `${SHOTS}lab-claq.png` });
    await page.close();
  });

  it("GPTQ W3 with two zero-shot tasks: FP and quantized accuracy side by side, equal to the CLI's figures; the link carries the tasks", async () => {
    const page = await openLab(lab);
    await configure(page, { method: 'gptq', wbits: '3', nsamples: '2', seqlen: '128', windows: '1' });
    await page.click('[data-testid=tasks-seed]');
    // the seed preset is the RPTQ paper's six; keep two of them
    for (const t of ['lambada_openai', 'arc_easy', 'arc_challenge', 'openbookqa'])
      await page.uncheck(`[data-testid=task-${t}]`);
    expect(await page.locator('[data-testid=task-boolq]').isChecked()).toBe(true);
    await page.fill('[data-testid=task-limit]', '8');
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(/tasks piqa,boolq items 8$/);
    await page.click('[data-testid=run]');
    // progress per task while it scores: items done of 8, items/s
    await page.waitForFunction(
      () => /piqa.*\/8 items.*items\/s/.test(document.querySelector('[data-testid=task-progress]')?.textContent ?? ''),
      null,
      { timeout: 300_000 },
    );
    await page.waitForSelector('[data-testid=task-results]', { timeout: 540_000 });
    await page.locator('[data-testid=result]').screenshot({ path: `${SHOTS}lab-zeroshot.png` });
    const read = async (id: string) => Number(await page.locator(`[data-testid=${id}]`).getAttribute('data-value'));
    const pageFigures = {
      piqa: [await read('task-piqa-acc'), await read('task-piqa-acc_norm')],
      boolq: [await read('task-boolq-acc')],
    };
    const fpText = await page.locator('[data-testid=task-fp-piqa-acc]').innerText();
    // the same experiment through the CLI's path (runExperiment in Node, Dawn's SwiftShader)
    const node = await runExperiment(
      {
        datasets: ['tinystories'],
        windows: 1,
        tasks: ['piqa', 'boolq'],
        limit: 8,
        recipe: makeRecipe({
          nsamples: 2,
          seqlen: 128,
          calib: 'tinystories',
          seed: 0,
          steps: [{ method: 'gptq', wbits: 3 }],
        }),
      },
      { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu: await sharedGpu() },
    );
    console.log(
      `zero-shot GPTQ W3 stories260K, 8 items: page ${JSON.stringify(pageFigures)} FP piqa ${fpText}; node piqa ${node.tasks!.piqa.acc}/${node.tasks!.piqa.accNorm} (FP ${node.tasksBefore!.piqa.acc}) boolq ${node.tasks!.boolq.acc}`,
    );
    expect(pageFigures).toEqual({
      piqa: [node.tasks!.piqa.acc, node.tasks!.piqa.accNorm],
      boolq: [node.tasks!.boolq.acc],
    });
    expect(fpText.startsWith(node.tasksBefore!.piqa.acc.toFixed(4))).toBe(true);
    // the results row shows accuracy with its change from FP
    expect(await page.locator('[data-testid=run-tasks]').first().innerText()).toMatch(
      /piqa \d\.\d{3} \([+-]\d\.\d{3}\) · norm .*n=8/,
    );
    // a link with results carries the tasks and their figures into a new page
    await page.click('[data-testid=share-results]');
    const link = await page.locator('[data-testid=share-url]').inputValue();
    const shared = await openLab(lab, link.slice(link.indexOf('/#') + 1));
    await shared.waitForSelector('[data-testid=link-banner]');
    expect(await shared.locator('[data-testid=task-piqa]').isChecked()).toBe(true);
    expect(await shared.locator('[data-testid=task-limit]').inputValue()).toBe('8');
    expect(Number(await shared.locator('[data-testid=shared-acc-piqa]').innerText())).toBeCloseTo(
      node.tasks!.piqa.acc,
      4,
    );
    await shared.close();
    await page.close();
  });
});
