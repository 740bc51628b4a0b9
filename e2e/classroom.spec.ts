/**
 * A classroom reaches the teacher's server by a name that is not this device's loopback (here
 * `classroom.test`, which this spec's Chromium maps to 127.0.0.1: tests never aim at a real interface
 * address). Over HTTPS with the self-signed certificate of `pqfed serve --https` (the warning clicked
 * through: `ignoreHTTPSErrors`), the tab is a secure, cross-origin-isolated context and trains on WebGPU
 * (SwiftShader); a second tab opened at the short address, without the `#fp=` fragment, joins with the
 * fingerprint its origin announces, and both contribute to the same round. Over plain HTTP the same name
 * gets no WebGPU: the tab falls back to WASM and the page says why.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, expect, test } from '@playwright/test';
import config from '../playwright.config.ts';
import { resolveToLoopback, type Served, SMALL_EXPERIMENT, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

test.describe.configure({ mode: 'serial' });

const NAME = 'classroom.test';
/** WebGPU on SwiftShader trains at ~50 samples/s, under 10 on a busy machine: 200 rows a tab, a long deadline. */
const CLASSROOM = { ...SMALL_EXPERIMENT, maxTrainRows: 800, roundDeadlineSeconds: 300 };
let browser: Browser;
let context: BrowserContext;
let https: Served;

test.beforeAll(async () => {
  const launch = config.use?.launchOptions ?? {};
  browser = await chromium.launch({ ...launch, args: [...(launch.args ?? []), resolveToLoopback(NAME)] });
  context = await browser.newContext({ ignoreHTTPSErrors: true });
  https = await serve(CLASSROOM, '127.0.0.1', { https: true, publicHost: NAME });
});

test.afterAll(async () => {
  await context?.close();
  await browser?.close();
  await https?.stop();
});

/** What the page's origin gives it. */
const probe = () => ({
  isSecureContext: globalThis.isSecureContext,
  crossOriginIsolated: globalThis.crossOriginIsolated,
  webgpu: 'gpu' in navigator,
  subtle: globalThis.crypto?.subtle !== undefined,
});

test('over HTTPS by a LAN name, a tab trains on WebGPU and a tab at the short address joins too', async () => {
  test.setTimeout(480_000);
  const base = new URL(https.base);
  expect([base.protocol, base.hostname]).toEqual(['https:', NAME]);
  expect(https.join).toBe(`${https.base}/?autojoin=1#fp=${https.fingerprint}`);
  // It prints the certificate's SHA-256, which students compare with the browser's warning.
  const sha256 = new X509Certificate(readFileSync(join(https.dataDir, 'tls-cert.pem'))).fingerprint256;
  await until('the certificate line', async () => https.log.some((l) => l.trim() === sha256), 30_000);

  // The bare address typed without https:// is redirected, and the form already holds the fingerprint the
  // origin announces.
  const bare = await context.newPage();
  await bare.goto(`http://${base.host}/`);
  expect(bare.url()).toBe(`${https.base}/`);
  await expect(bare.locator('#fed-fingerprint')).toHaveValue(https.fingerprint);
  await bare.close();

  const gpu = await context.newPage();
  await gpu.goto(https.join.replace('/?autojoin=1', '/?autojoin=1&backend=webgpu'));
  expect(await gpu.evaluate(probe)).toEqual({
    isSecureContext: true,
    crossOriginIsolated: true,
    webgpu: true,
    subtle: true,
  });
  await expect(gpu.locator('#backend-name')).toHaveText('webgpu', { timeout: 60_000 });
  await expect(gpu.locator('#origin-notice')).toBeHidden();

  // The short address a student types from the projector: no fragment, no fingerprint.
  const short = await context.newPage();
  await short.goto(`${https.base}/?autojoin=1&backend=wasm`);
  expect(new URL(short.url()).hash).toBe('');
  const ids = [await clientIdOf(gpu), await clientIdOf(short)];
  await expect(short.locator('#fed-server')).toHaveText(https.fingerprint);

  const round = await until(
    'a round both the WebGPU tab and the short-address tab contributed to',
    async () =>
      (await https.status()).history.find((h) => ids.every((id) => h.contributed.includes(id))) ?? false,
    400_000,
  );
  expect(round.contributed).toEqual(expect.arrayContaining(ids));
  const backends = Object.fromEntries((await https.status()).clientList.map((c) => [c.id, c.backend]));
  expect(ids.map((id) => backends[id])).toEqual(['webgpu', 'wasm-fused']);
  await gpu.close();
  await short.close();
});

test('a join link whose fingerprint is not the server key is still refused', async () => {
  const page = await context.newPage();
  const wrong = 'aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa-aaaa';
  await page.goto(`${https.base}/?autojoin=1&backend=wasm#fp=${wrong}`);
  await expect(page.locator('#fed-fingerprint')).toHaveValue(wrong);
  // The handshake fails the pin: the client stops for good instead of joining (or retrying), and says why.
  await expect(page.locator('#fed-status')).toHaveAttribute('data-state', 'refused', { timeout: 60_000 });
  await expect(page.locator('#fed-status')).toContainText('not the one in the join link');
  await expect(page.locator('#fed-client')).not.toHaveAttribute('data-client-id', /^c-/);
  await expect(page.locator('#fed-server')).toHaveText('–');
  await page.close();
});

test('over plain HTTP by the same name, the tab falls back to WASM and the page says why', async () => {
  test.setTimeout(180_000);
  const http = await serve(undefined, '127.0.0.1', { publicHost: NAME });
  try {
    expect(new URL(http.base).protocol).toBe('http:');
    const page = await context.newPage();
    await page.goto(`${http.base}/`);
    expect(await page.evaluate(probe)).toEqual({
      isSecureContext: false,
      crossOriginIsolated: false,
      webgpu: false,
      subtle: false,
    });
    await expect(page.locator('#backend-name')).toHaveText('wasm', { timeout: 60_000 });
    const notice = page.locator('#origin-notice');
    await expect(notice).toBeVisible();
    await expect(notice).toContainText(`plain HTTP from ${NAME}`);
    await expect(notice).toContainText('WebGPU');
    await expect(notice).toContainText('--https');
    await expect(page.locator('#backend-threads')).toHaveText('1');
    await page.close();
  } finally {
    await http.stop();
  }
});
