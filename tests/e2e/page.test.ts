// The page end to end in headless Chromium on SwiftShader: load the bundled stories260K, run perplexity in the
// worker, read the figure (equal to Node's); cancel; a bad model URL gives a specific error. Screenshots go to test-results/.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { MODELS, sharedGpu } from '../helpers.ts';
import { runExperiment } from '../../src/pipeline/experiment.ts';
import { makeRecipe } from '../../src/quant/recipe.ts';
import { folderSource } from '../../src/model/source.node.ts';
import { folderReader } from '../../src/eval/datasets.node.ts';
import {
  SHOTS,
  classNamesOrFlags,
  openLab as open,
  runAndRead as run,
  setDatasets,
  startLab,
  type Lab,
} from './browser.ts';

let lab: Lab;
let url: string;

beforeAll(async () => {
  lab = await startLab();
  url = lab.url;
});

afterAll(async () => {
  await lab?.close();
});

const openLab = () => open(lab);

async function runAndRead(page: Page, dataset: string, windows: string, seqlen = '512'): Promise<number> {
  await setDatasets(page, [dataset]);
  await page.fill('[data-testid=seqlen]', seqlen);
  await page.fill('[data-testid=windows]', windows);
  return run(page, dataset);
}

describe('the lab page (headless Chromium, WebGPU on SwiftShader)', () => {
  // the known full-protocol figures (5.8344 on all 81 tinystories windows, 4.0677 on tinystories-file) are the
  // benchmark's and the command line's (eval/perplexity.test.ts); the page must give Node's figure, window for window
  it('stories260K FP in the page: the first 4 tinystories windows give the figure Node gives', async () => {
    const page = await openLab();
    await page.screenshot({ path: `${SHOTS}lab-start.png` });
    const ppl = await runAndRead(page, 'tinystories', '4');
    await page.screenshot({ path: `${SHOTS}lab-result.png` });
    const node = await runExperiment(
      { datasets: ['tinystories'], windows: 4, seqlen: 512, recipe: makeRecipe({}) },
      { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu: await sharedGpu() },
    );
    console.log(`stories260K FP, 4 tinystories windows of 512: page ${ppl}, Node ${node.ppl.tinystories}`);
    expect(Math.abs(ppl / node.ppl.tinystories - 1)).toBeLessThan(1e-6);
    await page.close();
  });

  it('GPTQ W3 in the page gives the same perplexity as the same recipe in Node, and draws the per-layer errors', async () => {
    const page = await openLab();
    await page.selectOption('[data-testid=method]', 'gptq');
    await page.fill('[data-testid=wbits]', '3');
    await page.fill('[data-testid=nsamples]', '2');
    await page.selectOption('[data-testid=calib]', 'tinystories');
    const ppl = await runAndRead(page, 'tinystories', '2', '256');
    await page.waitForSelector('[data-testid=layer-error-chart] canvas');
    await page.screenshot({ path: `${SHOTS}lab-gptq.png`, fullPage: true });
    const node = await runExperiment(
      {
        datasets: ['tinystories'],
        windows: 2,
        skipBefore: true,
        recipe: makeRecipe({
          nsamples: 2,
          seqlen: 256,
          calib: 'tinystories',
          seed: 0,
          steps: [{ method: 'gptq', wbits: 3 }],
        }),
      },
      { source: folderSource(MODELS.stories260K), readText: folderReader(), gpu: await sharedGpu() },
    );
    console.log(`GPTQ W3 stories260K: page ${ppl}, node ${node.ppl.tinystories}`);
    // same seed → same windows, same kernels → the same figure (Chromium's and Dawn-node's shader compilers may
    // still order a float op differently, so allow one part in a million)
    expect(Math.abs(ppl / node.ppl.tinystories - 1)).toBeLessThan(1e-6);
    await page.close();
  });

  it('an invalid combination is explained next to the fields, and Run stays disabled', async () => {
    const page = await openLab();
    await page.selectOption('[data-testid=method]', 'gptq');
    await page.fill('[data-testid=wbits]', '9');
    expect(await page.locator('[data-testid=form-problem]').innerText()).toMatch(
      /^Wbits must be an integer from 2 to 8/,
    );
    expect(await page.locator('[data-testid=run]').isDisabled()).toBe(true);
    await page.fill('[data-testid=wbits]', '4');
    expect(await page.locator('[data-testid=form-problem]').count()).toBe(0);
    await page.close();
  });

  it('cancel stops the run and the page can start another', async () => {
    const page = await openLab();
    await setDatasets(page, ['tinystories']);
    await page.fill('[data-testid=windows]', '');
    await page.click('[data-testid=run]');
    await page.waitForSelector('[data-testid=progress]');
    await page.click('[data-testid=cancel]');
    await expect.poll(() => page.locator('[data-testid=status]').innerText(), { timeout: 1000 }).toBe('cancelled');
    expect(await page.locator('[data-testid=run]').isEnabled()).toBe(true);
    const ppl = await runAndRead(page, 'tinystories', '1');
    expect(ppl).toBeGreaterThan(1);
    await page.close();
  });

  it('a model URL with no model gives a specific error in words (no class name) and the page stays usable', async () => {
    const page = await openLab();
    await page.fill('input[aria-label="a Hub repo id or a model URL"]', `${url}shared/data/`);
    await page.click('text=Use');
    await page.fill('[data-testid=windows]', '1');
    await page.click('[data-testid=run]');
    await page.waitForSelector('[data-testid=error]', { timeout: 60_000 });
    expect(await page.locator('[data-testid=error]').innerText()).toMatch(
      /^A model file could not be read: .*config\.json not found/,
    );
    await page.screenshot({ path: `${SHOTS}lab-error.png` });
    expect(await page.locator('[data-testid=run]').isEnabled()).toBe(true);
    // a server that answers every path with its web app: said as such, not as "Unexpected token '<'"
    await page.fill('input[aria-label="a Hub repo id or a model URL"]', `${url}no/such/model/`);
    await page.click('text=Use');
    await page.waitForSelector('[data-testid=model-probe].error');
    expect(await page.locator('[data-testid=model-probe]').innerText()).toMatch(
      /^A model file could not be read: .*asking for config\.json returned an HTML page, not a JSON file/,
    );
    expect(await classNamesOrFlags(page)).toEqual([]);
    await page.close();
  });
});
