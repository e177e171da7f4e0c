import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SYNOD_BIN } from '../cluster/process-cluster.js';
import { ensureChromium } from './ensure-chromium.js';

/**
 * The dashboard of `synod demo --transport grpc` (three `synod serve`
 * processes, with --fault-hooks) in headless chromium: it names the
 * transport, offers the network and membership controls, a crash of the
 * leader (SIGKILL) shows a new leader, and cutting the next leader off
 * draws its links red until a heal. Saves
 * test-results/browser/dashboard-grpc.png.
 */

const OUTPUT = fileURLToPath(new URL('../../test-results/browser/', import.meta.url));
let demo: ChildProcess;
let demoOutput = '';
let browser: Browser;
let page: Page;

function startDemo(): Promise<string> {
  demo = spawn(process.execPath, [SYNOD_BIN, 'demo', '--transport', 'grpc', '--port', '0', '--nodes', '3', '--seed', '7'], { stdio: ['ignore', 'pipe', 'pipe'] });
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

async function waitForLeader(not: string | undefined, timeoutMs: number): Promise<string> {
  await page.waitForFunction(
    (previous) => {
      const text = document.getElementById('leader')?.textContent ?? '';
      return /^n\d$/.test(text) && text !== previous;
    },
    not ?? '',
    { timeout: timeoutMs, polling: 50 },
  );
  return page.locator('#leader').innerText();
}

beforeAll(async () => {
  const executablePath = ensureChromium();
  const url = await startDemo();
  browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(url);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  if (demo !== undefined && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGINT');
    await exited;
  }
}, 30_000);

it('names the transport, offers the network and membership controls, and fails over after a crash', async () => {
  const first = await waitForLeader(undefined, 20_000);
  expect(await page.locator('#network').innerText()).toBe('as synod serve processes over gRPC');
  expect(await page.locator('#partition').isDisabled()).toBe(false);
  expect(await page.locator('#link-drop').isDisabled()).toBe(false);
  expect(await page.locator('#add-member').isDisabled()).toBe(false);
  expect(await page.locator('#workload-toggle').isDisabled()).toBe(false);
  expect(await page.locator('button[data-action="isolate"]').count()).toBeGreaterThan(0);
  expect(await page.locator(`button[data-action="pause"][data-id="${first}"]`).count()).toBe(1);

  await page.click(`button[data-action="crash"][data-id="${first}"]`);
  const second = await waitForLeader(first, 15_000);
  await page.waitForFunction((id) => document.querySelector(`tr[data-node="${id}"] td.state`)?.textContent === 'down', first, { timeout: 5000 });
  await page.waitForFunction(() => document.querySelectorAll('#phi-chart .u-legend, #phi-chart canvas').length > 0, undefined, { timeout: 5000 });
  await page.click(`button[data-action="restart"][data-id="${first}"]`);
  await page.waitForFunction((id) => document.querySelector(`tr[data-node="${id}"] td.state`)?.textContent === 'up', first, { timeout: 20_000 });

  // Cut the new leader off (Cluster/SetLinkFaults on every process): its edges turn red, another leads.
  await page.click(`button[data-action="isolate"][data-id="${second}"]`);
  await page.waitForFunction(() => document.querySelectorAll('line.edge.cut').length > 0, undefined, { timeout: 5000 });
  await waitForLeader(second, 20_000);
  mkdirSync(OUTPUT, { recursive: true });
  await page.screenshot({ path: `${OUTPUT}dashboard-grpc.png`, fullPage: true });
  await page.click('#heal');
  await page.waitForFunction(() => document.querySelectorAll('line.edge.cut').length === 0, undefined, { timeout: 5000 });
}, 90_000);
