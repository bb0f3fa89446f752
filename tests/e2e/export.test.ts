// Export and import in the page, end to end in headless Chromium on SwiftShader, on the bundled opt-tiny (stories260K's
// FFN width 172 cannot pack into GPTQ's 32-bit words):
//   1. GPTQ W4 g32 act-order with f16 scales on 2 × 128 calibration tokens; exported as a GPTQ checkpoint into a folder
//      (showDirectoryPicker stubbed with an OPFS directory, so the real FileSystemDirectoryHandle path runs in the
//      worker), and as a bundle; the files are read back out of OPFS onto disk;
//   2. the GPTQ folder picked as a local model: the probe names it, its layers' grids show in Inspect, and its full-precision evaluation gives the run's
//      perplexity (within 1e-4 relative: the run evaluated exactly the f16 scales the checkpoint stores);
//   3. the bundle imported in a fresh browser profile: the Results row and the Run panel show the run's perplexity and
//      the Inspect weight view of a layer renders the same as in the page that ran it.
// Screenshots go to test-results/.
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { SHOTS, openLab, recordTexts, runAndRead, setDatasets, startLab, type Lab } from './browser.ts';

let lab: Lab;
const dirs: string[] = [];
beforeAll(async () => {
  lab = await startLab();
});
afterAll(async () => {
  await lab?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** window.showDirectoryPicker answers with a fresh OPFS folder of this name (headless Chromium has no picker dialog). */
async function pickerAnswers(page: Page, name: string) {
  await page.evaluate((folder) => {
    (window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker =
      async () => {
        const root = await navigator.storage.getDirectory();
        await root.removeEntry(folder, { recursive: true }).catch(() => {});
        return root.getDirectoryHandle(folder, { create: true });
      };
  }, name);
}

/** The files of an OPFS folder, copied onto disk (a temp folder): what the user would find in the folder they picked. */
async function opfsToDisk(page: Page, name: string): Promise<string> {
  const files = await page.evaluate(async (folder) => {
    const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(folder);
    const out: Record<string, string> = {};
    for await (const [n, h] of dir as unknown as AsyncIterable<[string, FileSystemFileHandle]>) {
      const url = await new Promise<string>((resolve, reject) => {
        const r = new FileReader();
        r.onload = () => resolve(r.result as string);
        r.onerror = () => reject(r.error);
        void h.getFile().then((f) => r.readAsDataURL(f));
      });
      out[n] = url.slice(url.indexOf(',') + 1);
    }
    return out;
  }, name);
  const dir = mkdtempSync(join(tmpdir(), `quantlab-e2e-${name}-`));
  dirs.push(dir);
  for (const [n, b64] of Object.entries(files)) writeFileSync(join(dir, n), Buffer.from(b64, 'base64'));
  return dir;
}

/** Unfolds the Export control of the finished run (folded so the results table stays in view). */
async function openExport(page: Page) {
  if (!(await page.locator('[data-testid=export-panel]').evaluate((el) => (el as HTMLDetailsElement).open)))
    await page.click('[data-testid=export-panel] summary');
}

/** Exports the current result in a format into an OPFS folder; the report's files (name → bytes) and notes. */
async function exportTo(page: Page, format: string, folder: string) {
  await pickerAnswers(page, folder);
  await openExport(page);
  await page.selectOption('[data-testid=export-format]', format);
  await page.click('[data-testid=export]');
  await page.waitForFunction(
    (f) =>
      document.querySelector('[data-testid=export-report]')?.textContent?.includes(`Exported as ${f} `) ||
      document.querySelector('[data-testid=export-error]'),
    format,
    { timeout: 60_000 },
  );
  if (await page.locator('[data-testid=export-error]').count())
    throw new Error(await page.locator('[data-testid=export-error]').innerText());
  const files: Record<string, number> = {};
  for (const li of await page.locator('[data-testid=export-file]').all())
    files[(await li.getAttribute('data-name'))!] = Number(await li.getAttribute('data-bytes'));
  const notes = await page.locator('[data-testid=export-note]').allInnerTexts();
  return { files, notes, dir: await opfsToDisk(page, folder) };
}

/** The JSON header of a safetensors file. */
function header(path: string): Record<string, { dtype: string; shape: number[] }> {
  const b = readFileSync(path);
  return JSON.parse(b.subarray(8, 8 + Number(b.readBigUInt64LE(0))).toString('utf8'));
}

describe('export and import in the page (headless Chromium, WebGPU on SwiftShader)', () => {
  it("GPTQ W4 g32 on opt-tiny: exported as a GPTQ checkpoint it loads back to the run's perplexity; exported as a bundle it restores the run in a fresh page", async () => {
    const t0 = Date.now();
    const page = await openLab(lab);
    expect(await page.locator('[data-testid=model-select] option[value="bundled:opt-tiny"]').count()).toBe(1);
    await page.selectOption('[data-testid=model-select]', 'bundled:opt-tiny');
    await page.waitForSelector('[data-testid=model-fits]');

    await page.selectOption('[data-testid=method]', 'gptq');
    await page.fill('[data-testid=wbits]', '4');
    await page.fill('[data-testid=groupsize]', '32');
    await page.check('[data-testid=actOrder]');
    // the run evaluates the f16 scales a GPTQ checkpoint stores, so the checkpoint is exactly the run's model
    await page.check('[data-testid=scales16]');
    await page.selectOption('[data-testid=calib]', 'tinystories');
    await page.fill('[data-testid=nsamples]', '2');
    await setDatasets(page, ['tinystories']);
    await page.fill('[data-testid=seqlen]', '128');
    await page.fill('[data-testid=windows]', '2');
    expect(await page.locator('[data-testid=config-line]').innerText()).toMatch(
      /^bundled opt-tiny · GPTQ W4 g32 · calib tinystories 2×128 seed 0 · .*act-order/,
    );
    const quantized = await runAndRead(page, 'tinystories');
    console.log(
      `GPTQ W4 g32 act-order f16 scales, opt-tiny: ${quantized} (${((Date.now() - t0) / 1000).toFixed(1)} s into the test)`,
    );

    // every format is possible for a weight-only GPTQ run on opt-tiny's widths
    for (const f of ['gptq', 'fake', 'bundle'])
      expect(await page.locator(`[data-testid=export-format] option[value=${f}]`).isDisabled()).toBe(false);
    // the weight view of one layer, to compare with the bundle's
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.selectOption('[data-testid=inspect-role]', 'down');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=weight-view]', { timeout: 60_000 });
    const weightLine = await page.locator('[data-testid=weight-view] p').first().innerText();
    expect(weightLine).toMatch(/^block 1, fc2 \[128 × 512\]: ‖W − Ŵ‖\/‖W‖ = 0\.\d{4}/);

    // 1. the GPTQ checkpoint, written by the worker into the picked folder, with progress per file
    const progressSeen = await recordTexts(page, '[data-testid=export-progress]');
    const gptq = await exportTo(page, 'gptq', 'export');
    const progress = await progressSeen();
    expect(progress.some((t) => /^into "export" · model\.safetensors: tensor \d+ of \d+$/.test(t))).toBe(true);
    await page.locator('[data-testid=export-panel]').screenshot({ path: `${SHOTS}lab-export-gptq.png` });
    expect(Object.keys(gptq.files).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'quantize_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    expect(readdirSync(gptq.dir).sort()).toEqual(Object.keys(gptq.files).sort());
    for (const [n, bytes] of Object.entries(gptq.files)) expect(statSync(join(gptq.dir, n)).size, n).toBe(bytes);
    // f16 scales: nothing was rounded on export
    expect(gptq.notes.filter((n) => /rounded/.test(n))).toEqual([]);
    const config = JSON.parse(readFileSync(join(gptq.dir, 'config.json'), 'utf8'));
    expect(config.quantization_config).toMatchObject({
      bits: 4,
      group_size: 32,
      desc_act: true,
      sym: false,
      quant_method: 'gptq',
      checkpoint_format: 'gptq',
    });
    const tensors = header(join(gptq.dir, 'model.safetensors'));
    const qweights = Object.keys(tensors).filter((n) => n.endsWith('.qweight'));
    expect(qweights.length).toBe(4 * 6);
    expect(tensors['model.decoder.layers.1.fc2.qweight']).toMatchObject({ dtype: 'I32', shape: [(512 * 4) / 32, 128] });
    expect(tensors['model.decoder.layers.1.fc2.weight']).toBeUndefined();

    // 2. the bundle of the same run
    const bundle = await exportTo(page, 'bundle', 'bundle');
    expect(Object.keys(bundle.files).sort()).toEqual(['quantlab-bundle.json', 'quantlab-weights.safetensors']);
    await page.locator('[data-testid=export-panel]').screenshot({ path: `${SHOTS}lab-export-bundle.png` });

    // without a folder picker (Firefox, Safari): one download per file; here the fake-quantized checkpoint
    await page.evaluate(
      () => void ((window as unknown as { showDirectoryPicker?: unknown }).showDirectoryPicker = undefined),
    );
    await page.selectOption('[data-testid=export-format]', 'fake');
    expect(await page.locator('[data-testid=export]').innerText()).toBe('Export (downloads)');
    // a listener, not a waitForEvent loop: a download that starts while an earlier one is still being read is not lost
    const downloads: Record<string, Buffer> = {};
    const reading: Promise<void>[] = [];
    const onDownload = (d: Download) =>
      void reading.push(
        (async () =>
          void (downloads[d.suggestedFilename()] = Buffer.concat(await (await d.createReadStream()).toArray())))(),
      );
    page.on('download', onDownload);
    await page.click('[data-testid=export]');
    await page.waitForFunction(
      () =>
        document.querySelector('[data-testid=export-report]')?.textContent?.includes('Exported as fake ') ||
        document.querySelector('[data-testid=export-error]'),
      null,
      { timeout: 60_000 },
    );
    if (await page.locator('[data-testid=export-error]').count())
      throw new Error(await page.locator('[data-testid=export-error]').innerText());
    await expect.poll(() => reading.length, { timeout: 60_000 }).toBe(4);
    await Promise.all(reading);
    page.off('download', onDownload);
    expect(Object.keys(downloads).sort()).toEqual([
      'config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    const fakeDir = mkdtempSync(join(tmpdir(), 'quantlab-e2e-fake-'));
    dirs.push(fakeDir);
    for (const [n, b] of Object.entries(downloads)) writeFileSync(join(fakeDir, n), b);
    for (const li of await page.locator('[data-testid=export-file]').all())
      expect(downloads[(await li.getAttribute('data-name'))!].length).toBe(Number(await li.getAttribute('data-bytes')));
    expect(header(join(fakeDir, 'model.safetensors'))['model.decoder.layers.1.fc2.weight']).toMatchObject({
      dtype: 'F16',
      shape: [128, 512],
    });
    expect(JSON.parse(downloads['config.json'].toString()).quantization_config).toBeUndefined();

    // 3. the GPTQ folder as the model: the probe names the checkpoint, FP evaluation gives the run's figure
    await page.setInputFiles('[data-testid=model-folder]', gptq.dir);
    await page.waitForSelector('[data-testid=model-gptq]');
    expect(await page.locator('[data-testid=model-gptq]').innerText()).toBe(
      'GPTQ checkpoint: W4 g32, act-order (dequantized on the GPU per block)',
    );
    await page.selectOption('[data-testid=method]', 'fp');
    expect(await page.locator('[data-testid=config-line]').innerText()).toBe(
      'local files "local folder" · FP · eval tinystories seqlen 128 windows 2',
    );
    const loaded = await runAndRead(page, 'tinystories');
    console.log(
      `the exported GPTQ checkpoint, evaluated at full precision in the page: ${loaded} (the run: ${quantized}, relative difference ${Math.abs(loaded / quantized - 1).toExponential(2)})`,
    );
    expect(Math.abs(loaded / quantized - 1)).toBeLessThanOrEqual(1e-4);
    // inspected like the lab's own runs: a packed layer's codes, zero points and group scales
    await page.waitForSelector('[data-testid=inspect-checkpoint]');
    await page.selectOption('[data-testid=inspect-layer]', '1');
    await page.selectOption('[data-testid=inspect-role]', 'down');
    await page.click('[data-testid=load-weights]');
    await page.waitForSelector('[data-testid=weight-grid] [data-testid=grid-scales] canvas', { timeout: 60_000 });
    expect(await page.locator('[data-testid=weight-view] p').first().innerText()).toMatch(
      /^block 1, fc2 \[128 × 512\]: dequantized from the GPTQ checkpoint/,
    );
    expect(await page.locator('[data-testid=weight-grid] h4').first().innerText()).toBe(
      'Grid: 4-bit codes, 16 groups per row (in act-order: each column’s group from g_idx)',
    );
    await page.screenshot({ path: `${SHOTS}lab-export-reloaded.png`, fullPage: true });
    await page.close();

    // 4. the bundle in a fresh browser profile (its own IndexedDB): the run comes back without recomputing
    const fresh = await openLab(lab);
    await fresh.setInputFiles(
      '[data-testid=import-bundle]',
      Object.keys(bundle.files).map((n) => join(bundle.dir, n)),
    );
    await fresh.waitForSelector('[data-testid=bundle-imported], [data-testid=bundle-error]', { timeout: 60_000 });
    if (await fresh.locator('[data-testid=bundle-error]').count())
      throw new Error(await fresh.locator('[data-testid=bundle-error]').innerText());
    expect(await fresh.locator('[data-testid=model-current]').innerText()).toBe('Selected: bundled opt-tiny');
    await fresh.waitForSelector('[data-testid=from-bundle]');
    expect(Number(await fresh.locator('[data-testid=ppl-tinystories]').getAttribute('data-value'))).toBe(quantized);
    const row = fresh.locator('[data-testid=runs-table] tbody tr');
    expect(await row.count()).toBe(1);
    expect(await row.first().innerText()).toContain(`tinystories ${quantized.toFixed(3)}`);
    expect(await row.first().innerText()).toMatch(/GPTQ W4 g32 \(imported bundle\)/);
    expect(await fresh.locator('[data-testid=config-line]').innerText()).toMatch(
      /^bundled opt-tiny · GPTQ W4 g32 · calib tinystories 2×128 seed 0 · /,
    );
    await fresh.selectOption('[data-testid=inspect-layer]', '1');
    await fresh.selectOption('[data-testid=inspect-role]', 'down');
    await fresh.click('[data-testid=load-weights]');
    await fresh.waitForSelector('[data-testid=weight-view] [data-testid=weight-grid-quant] canvas', {
      timeout: 60_000,
    });
    expect(await fresh.locator('[data-testid=weight-view] p').first().innerText()).toBe(weightLine);
    await fresh.screenshot({ path: `${SHOTS}lab-bundle-imported.png`, fullPage: true });
    await fresh.close();
    console.log(`export e2e: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
