// Issue 25's Generate panel, end to end in headless Chromium on SwiftShader: after a GPTQ W3 (per row) run on the bundled
// stories260K, a prompt is continued by the full-precision and the quantized model side by side; the text streams in,
// the first token where they part is marked in both, every token carries its log-probs, the text joins the run in
// Results, and a share link carries the prompt and settings (not the text). Screenshot: test-results/generate.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeShareLink } from '../../src/pipeline/shareLink.ts';
import { SHOTS, openLab, recordEach, runAndRead, setDatasets, startLab, type Lab } from './browser.ts';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
});

describe('Generate (headless Chromium, WebGPU on SwiftShader)', () => {
  it('after a GPTQ run: both continuations stream side by side, the parting token is marked', async () => {
    const page = await openLab(lab);
    await page.selectOption('[data-testid=model-select]', 'bundled:stories260K');
    await page.selectOption('[data-testid=method]', 'gptq');
    await page.fill('[data-testid=wbits]', '3');
    await page.selectOption('[data-testid=calib]', 'tinystories');
    await page.fill('[data-testid=nsamples]', '2');
    await setDatasets(page, ['tinystories']);
    await page.fill('[data-testid=seqlen]', '128');
    await page.fill('[data-testid=windows]', '1');
    await runAndRead(page, 'tinystories');
    // the quantized layers are kept packed on the GPU: the run says how much smaller they are than as loaded
    expect(await page.locator('[data-testid=gpu-layers]').innerText()).toMatch(
      /the decoder's layers take .* quantized, 0\.[0-3]\d× the .* as loaded \(kept packed/,
    );

    await page.fill('[data-testid=gen-prompt]', 'Tom and Lily went to the park.');
    await page.fill('[data-testid=gen-maxNewTokens]', '48');
    const streamed = await recordEach(page, `document.querySelector('[data-testid=gen-stream-fp]')?.textContent`);
    await page.click('[data-testid=generate]');
    await page.waitForSelector('[data-testid=gen-status].done, [data-testid=gen-error]', { timeout: 300_000 });
    expect(await page.locator('[data-testid=gen-error]').count()).toBe(0);

    const fp = (await page.locator('[data-testid=gen-text-fp]').textContent()) ?? '';
    const quant = (await page.locator('[data-testid=gen-text-quant]').textContent()) ?? '';
    console.log(`FP:      Tom and Lily went to the park.${fp}\nGPTQ W3: Tom and Lily went to the park.${quant}`);
    // the numpy reference's greedy continuation of this prompt starts so (tests/model/generate.test.ts)
    expect(fp).toMatch(/^ They saw a big box with a big box\. They wanted to play with it\./);
    expect(quant.length).toBeGreaterThan(20);
    // the text streamed: the page showed parts of it before the whole
    const seen = await streamed();
    expect(seen.length).toBeGreaterThan(3);
    for (const t of seen) expect(fp.startsWith(t), t).toBe(true);
    expect(seen[0].length).toBeLessThan(fp.length);

    // the parting token, marked in both columns, and the line that names it
    expect(fp).not.toBe(quant);
    const markFp = page.locator('[data-testid=diverge-fp]');
    const markQuant = page.locator('[data-testid=diverge-quant]');
    expect(await markFp.count()).toBe(1);
    expect(await markQuant.count()).toBe(1);
    const line = await page.locator('[data-testid=gen-diverge-line]').innerText();
    expect(line).toMatch(/They part at new token \d+/);
    expect(line).toContain((await markFp.innerText()).trim());
    // every token's tooltip: its log-prob under the model that wrote it and under the other
    expect(await markQuant.getAttribute('title')).toMatch(/log p −?\d+\.\d\d under GPTQ W3.*, −?\d+\.\d\d under full/);
    expect(await page.locator('[data-testid=gen-speed-quant]').innerText()).toMatch(/48 tokens, [\d.]+ tokens\/s/);
    await page.locator('[data-testid=generate-panel]').screenshot({ path: `${SHOTS}generate.png` });

    // the text joins the run in Results; a link carries the prompt and settings, not the text
    await expect.poll(() => page.locator('[data-testid=runs-table]').innerText()).toContain('Tom and Lily');
    await page.click('[data-testid=share-results]');
    const link = await page.locator('[data-testid=share-url]').inputValue();
    const payload = await decodeShareLink(link);
    expect(payload.generate).toMatchObject({ prompt: 'Tom and Lily went to the park.', maxNewTokens: 48 });
    expect(link.length).toBeLessThan(4000);
    const opened = await openLab(lab, link.slice(link.indexOf('/#') + 1));
    await opened.waitForSelector('[data-testid=link-banner]');
    await page.close();
    await opened.close();
  });
});
