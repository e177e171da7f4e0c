import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SYNOD_BIN } from '../cluster/process-cluster.js';
import { ensureChromium } from './ensure-chromium.js';

/**
 * The dashboard in a real browser: Debian's chromium, headless, driven by
 * playwright-core, against a real `synod demo` process. It crashes the
 * leader, partitions and heals, pauses the leader, and checks that the
 * checker's verdict never says anything but linearizable (it may say
 * `pending`/`unknown` while a check is undecided). It saves a screenshot in
 * test-results/browser/.
 */

const OUTPUT = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));
let demo: ChildProcess;
let demoOutput = '';
let browser: Browser;
let page: Page;

function startDemo(): Promise<string> {
  demo = spawn(process.execPath, [SYNOD_BIN, 'demo', '--port', '0', '--nodes', '5', '--seed', '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      demoOutput += String(chunk);
      const url = /dashboard: (http:\/\/127\.0\.0\.1:\d+)/.exec(demoOutput)?.[1];
      if (url !== undefined) resolve(url);
    };
    demo.stdout!.on('data', onData);
    demo.stderr!.on('data', onData);
    demo.once('exit', (code) => reject(new Error(`synod demo exited with ${code}:\n${demoOutput}`)));
  });
}

const leaderText = (): Promise<string> => page.locator('#leader').innerText();

/** Waits until the page shows a leader other than `not`, and returns it. */
async function waitForLeader(not: string | undefined, timeoutMs: number): Promise<string> {
  await page.waitForFunction(
    (previous) => {
      const text = document.getElementById('leader')?.textContent ?? '';
      return /^n\d$/.test(text) && text !== previous;
    },
    not ?? '',
    { timeout: timeoutMs, polling: 50 },
  );
  return leaderText();
}

beforeAll(async () => {
  const executablePath = ensureChromium();
  const url = await startDemo();
  // --no-sandbox: the sandbox refuses to run as root, which CI is.
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
  // Record every verdict the page ever shows, not just the last one.
  await page.evaluate(() => {
    const verdicts: string[] = [];
    (window as unknown as { verdicts: string[] }).verdicts = verdicts;
    const element = document.getElementById('verdict')!;
    new MutationObserver(() => verdicts.push(element.textContent ?? '')).observe(element, { childList: true, characterData: true, subtree: true });
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGINT');
    await exited;
  }
}, 30_000);

it('shows a leader, fails over after a crash, a partition and a pause, and stays linearizable', async () => {
  const first = await waitForLeader(undefined, 15_000);
  expect(await page.locator('#connection').innerText()).toBe('live');

  // Crash the leader: another is elected within a few seconds.
  await page.click(`button[data-action="crash"][data-id="${first}"]`);
  const second = await waitForLeader(first, 5000);
  expect(await page.locator(`tr[data-node="${first}"] td.state`).innerText()).toBe('down');
  await page.click(`button[data-action="restart"][data-id="${first}"]`);
  await page.waitForFunction((id) => document.querySelector(`tr[data-node="${id}"] td.state`)?.textContent === 'up', first, { timeout: 5000 });

  // Partition: click the leader into a group of its own; the other four elect another.
  await page.click(`[data-graph-node="${second}"]`);
  await page.click('#partition');
  const third = await waitForLeader(second, 5000);
  expect(await page.locator('line.edge.cut').count()).toBeGreaterThan(0);
  await page.click('#heal');
  await page.waitForFunction(() => document.querySelectorAll('line.edge.cut').length === 0, undefined, { timeout: 5000 });

  // Pause the leader (a stop-the-world pause): the others elect another.
  await page.click(`button[data-action="pause"][data-id="${third}"]`);
  await waitForLeader(third, 5000);

  // Let the checker look at the window with all of the above in it.
  await page.waitForFunction(
    () => {
      const verdicts = (window as unknown as { verdicts: string[] }).verdicts;
      return verdicts.filter((v) => v === 'linearizable').length >= 2;
    },
    undefined,
    { timeout: 15_000, polling: 100 },
  );
  const verdicts = await page.evaluate(() => (window as unknown as { verdicts: string[] }).verdicts);
  expect(verdicts).not.toContain('not-linearizable');
  expect(await page.locator('#verdict').innerText()).toBe('linearizable');
  expect(await page.locator('#timeline li.election').count()).toBeGreaterThanOrEqual(4);

  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: `${OUTPUT}dashboard.png`, fullPage: true });
}, 60_000);
