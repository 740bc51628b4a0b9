/**
 * A classroom server reached over plain HTTP on the LAN (http://192.168.1.5:8080/?autojoin=1#fp=…): the page
 * is not a secure context, so the browser withholds `crypto.subtle` in the page and in its workers. Two tabs
 * opened from the LAN join link must still hand-shake, train and seal their updates (AES-256-GCM and SHA-256
 * in @noble/ciphers and @noble/hashes, byte-identical to the server's WebCrypto) and contribute to a round.
 * The "LAN" origin is a name that is not loopback to the browser (`classroom.test`, mapped to 127.0.0.1 by
 * this spec's Chromium): tests never aim at the machine's own interface addresses.
 */
import { type Browser, chromium, expect, test } from '@playwright/test';
import config from '../playwright.config.ts';
import { resolveToLoopback, type Served, serve, until } from './aggregator.ts';
import { clientIdOf } from './tab.ts';

test.describe.configure({ mode: 'serial' });

const LAN = 'classroom.test';
let server: Served | undefined;
let browser: Browser;

test.beforeAll(async () => {
  const launch = config.use?.launchOptions ?? {};
  browser = await chromium.launch({ ...launch, args: [...(launch.args ?? []), resolveToLoopback(LAN)] });
  server = await serve(undefined, '127.0.0.1', { publicHost: LAN });
});

test.afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** Whether this global (page or worker) is a secure context, and whether it has `crypto.subtle`. */
const probe = () => ({
  isSecureContext: globalThis.isSecureContext,
  hasSubtle: globalThis.crypto?.subtle !== undefined,
  hasGetRandomValues: typeof globalThis.crypto?.getRandomValues === 'function',
});

test('two tabs on a plain-HTTP LAN address, without WebCrypto, join and contribute to a round', async () => {
  test.setTimeout(300_000);
  const s = server!;
  const base = new URL(s.base);
  // The links use the LAN name (--public-url), not a loopback address.
  expect(base.protocol).toBe('http:');
  expect(base.hostname).toBe(LAN);

  const context = await browser.newContext();
  try {
    const errors: string[] = [];
    const pages = await Promise.all([0, 1].map(() => context.newPage()));
    for (const [i, p] of pages.entries()) {
      p.on('pageerror', (e) => errors.push(`tab ${i}: ${e.message}`));
      p.on('console', (m) => {
        if (m.type() === 'error') errors.push(`tab ${i} console: ${m.text()}`);
      });
    }

    // The page itself: an insecure context, with getRandomValues but no crypto.subtle.
    await pages[0]!.goto(`${s.base}/`);
    expect(await pages[0]!.evaluate(probe)).toEqual({
      isSecureContext: false,
      hasSubtle: false,
      hasGetRandomValues: true,
    });
    expect(
      await pages[0]!.evaluate(() => window.isSecureContext === false && crypto.subtle === undefined),
    ).toBe(true);

    const link = `${s.base}/?autojoin=1&backend=wasm#fp=${s.fingerprint}`;
    for (const p of pages) await p.goto(link);
    const ids = await Promise.all(pages.map(clientIdOf));
    expect(new Set(ids).size).toBe(2);

    // The handshake and the sealing run in each tab's trainer worker: an insecure context too.
    for (const p of pages) {
      expect(p.workers().length).toBeGreaterThan(0);
      for (const w of p.workers()) {
        expect(await w.evaluate(probe)).toEqual({
          isSecureContext: false,
          hasSubtle: false,
          hasGetRandomValues: true,
        });
      }
    }

    const round = await until(
      'a round both LAN tabs contributed to',
      async () =>
        (await s.status()).history.find((h) => ids.every((id) => h.contributed.includes(id))) ?? false,
      240_000,
    );
    expect(round.contributed).toEqual(expect.arrayContaining(ids));
    const status = await s.status();
    expect(status.clientList.filter((c) => ids.includes(c.id)).map((c) => c.backend)).toEqual([
      'wasm-fused',
      'wasm-fused',
    ]);
    expect(errors.filter((e) => /WebCrypto|subtle|CryptoError/i.test(e))).toEqual([]);
  } finally {
    await context.close();
  }
});
