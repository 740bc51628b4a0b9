/**
 * A classroom server reached over plain HTTP on the LAN (http://192.168.1.5:8080/?autojoin=1#fp=…): the page
 * is not a secure context, so the browser withholds `crypto.subtle` in the page and in its workers. Two tabs
 * opened from the LAN join link must still hand-shake, train and seal their updates (AES-256-GCM and SHA-256
 * in @noble/ciphers and @noble/hashes, byte-identical to the server's WebCrypto) and contribute to a round.
 */
import { networkInterfaces } from 'node:os';
import { expect, type Page, test } from '@playwright/test';
import { type Served, serve, until } from './aggregator.ts';

test.describe.configure({ mode: 'serial' });

/** The machine's first non-internal IPv4 address: what a phone on the same LAN would type. */
function lanAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

const LAN = lanAddress();
let server: Served | undefined;

test.beforeAll(async () => {
  if (LAN === undefined) return;
  server = await serve(undefined, '0.0.0.0');
});

test.afterAll(async () => {
  await server?.stop();
});

async function clientIdOf(page: Page): Promise<string> {
  const dd = page.locator('#fed-client[data-client-id]');
  await expect(dd).toHaveAttribute('data-client-id', /^c-/, { timeout: 120_000 });
  return (await dd.getAttribute('data-client-id'))!;
}

/** Whether this global (page or worker) is a secure context, and whether it has `crypto.subtle`. */
const probe = () => ({
  isSecureContext: globalThis.isSecureContext,
  hasSubtle: globalThis.crypto?.subtle !== undefined,
  hasGetRandomValues: typeof globalThis.crypto?.getRandomValues === 'function',
});

test('two tabs on a plain-HTTP LAN address, without WebCrypto, join and contribute to a round', async ({
  browser,
}) => {
  test.skip(LAN === undefined, 'this machine has no non-internal IPv4 address to reach the server by');
  test.setTimeout(300_000);
  const s = server!;
  const base = new URL(s.base);
  // The server printed its LAN address (it listens on every interface), not a loopback one.
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
      'wasm',
      'wasm',
    ]);
    expect(errors.filter((e) => /WebCrypto|subtle|CryptoError/i.test(e))).toEqual([]);
  } finally {
    await context.close();
  }
});
