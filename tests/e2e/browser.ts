// Headless Chromium on SwiftShader against the dev server: what every end-to-end test needs. Screenshots go to
// test-results/ so they can be looked at.
import { createServer, type ViteDevServer } from 'vite';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SHOTS = `${ROOT}test-results/`;
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--no-sandbox',
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Lab {
  url: string;
  browser: Browser;
  close(): Promise<void>;
}

export async function startLab(): Promise<Lab> {
  mkdirSync(SHOTS, { recursive: true });
  // no watcher: an edit elsewhere must not reload the page mid-run
  const server: ViteDevServer = await createServer({
    root: ROOT,
    configFile: `${ROOT}vite.config.ts`,
    server: { port: 0, host: '127.0.0.1', watch: null, hmr: false },
    logLevel: 'error',
  });
  await server.listen();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  return {
    url: server.resolvedUrls!.local[0],
    browser,
    async close() {
      await browser.close();
      await server.close();
    },
  };
}

/** A fresh browser profile (its own localStorage and IndexedDB) on the lab, with the bundled models listed. */
export async function openLab(lab: Lab, path = '', context?: BrowserContext): Promise<Page> {
  const ctx = context ?? (await lab.browser.newContext({ viewport: { width: 1280, height: 900 } }));
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  await page.goto(lab.url + path);
  await expect
    .poll(() => page.locator('[data-testid=model-select] option[value="bundled:stories260K"]').count())
    .toBe(1);
  return page;
}

export async function setDatasets(page: Page, wanted: string[]) {
  for (const box of await page.locator('[data-testid=datasets] input[type=checkbox]').all()) {
    const label = (await box.locator('xpath=..').innerText()).trim();
    if (wanted.includes(label) !== (await box.isChecked())) await box.click();
  }
}

/** Presses Run and waits for the figure (or throws the page's error). */
export async function runAndRead(page: Page, dataset: string, timeout = 540_000): Promise<number> {
  await page.click('[data-testid=run]');
  await page.waitForSelector('[data-testid=status].running');
  await page.waitForSelector(`[data-testid=ppl-${dataset}], [data-testid=error]`, { timeout });
  if (await page.locator('[data-testid=error]').count())
    throw new Error(await page.locator('[data-testid=error]').innerText());
  return Number(await page.locator(`[data-testid=ppl-${dataset}]`).getAttribute('data-value'));
}

/** Starts recording every distinct text a selector shows, in order (a MutationObserver in the page); the returned
 *  function reads what was seen so far. */
export async function recordTexts(page: Page, selector: string): Promise<() => Promise<string[]>> {
  return recordEach(page, `document.querySelector(${JSON.stringify(selector)})?.textContent`);
}

/** Records every distinct value of a page expression (a string of JS, evaluated at each DOM change), in order. */
export async function recordEach(page: Page, expression: string): Promise<() => Promise<string[]>> {
  const key = `recorded:${expression}`;
  await page.evaluate(
    ([key, expression]) => {
      const seen: string[] = ((window as unknown as Record<string, string[]>)[key] = []);
      const read = new Function(`return (${expression});`) as () => string | null | undefined;
      new MutationObserver(() => {
        const t = read();
        if (t && seen.at(-1) !== t) seen.push(t);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    },
    [key, expression] as const,
  );
  return () => page.evaluate((key) => (window as unknown as Record<string, string[]>)[key], key);
}

/** Every text the page shows that names an error class or a command-line flag (the page speaks in its own words). */
export async function classNamesOrFlags(page: Page): Promise<string[]> {
  const text = await page.locator('main').innerText();
  return text
    .split('\n')
    .filter(
      (line) => /\b[A-Z][A-Za-z]*Error:|(^|\s)--[a-z][a-z_-]+/.test(line) && !/--enable-unsafe-webgpu/.test(line),
    );
}
