/**
 * What a student downloads, in Chromium against `pqfed serve`: the join page with its trainer worker,
 * tfjs WASM binary and data sample (and the service worker's precache). Every script, page and WASM file
 * arrives brotli-compressed with `Vary: Accept-Encoding`, hashed assets are immutable, the data sample is
 * not encoded twice, and the page raises no Content-Security-Policy violation. Prints the bytes on the
 * wire against the bytes of the files (what the server sent before it compressed).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';

const DIST = new URL('../dist', import.meta.url).pathname;
const PAGES: Record<string, string> = { '/': 'index.html', '/dashboard': 'dashboard.html' };

interface Seen {
  path: string;
  encoding: string | null;
  vary: string | null;
  cache: string | null;
  wire: number;
  file: number;
}

test('a student downloads compressed assets, cached by hash, under a CSP with no violation', async ({
  page,
  context,
  baseURL,
}) => {
  test.setTimeout(120_000);
  await page.addInitScript(() => {
    (globalThis as { __csp?: string[] }).__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      (globalThis as unknown as { __csp: string[] }).__csp.push(`${e.violatedDirective} ${e.blockedURI}`),
    );
  });
  const seen = new Map<string, Promise<Seen>>();
  let last = Date.now();
  context.on('response', (r) => {
    const url = new URL(r.url());
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return; // blob: worker scripts
    if (url.origin !== new URL(baseURL!).origin || url.pathname.startsWith('/api/')) return;
    if (url.pathname === '/healthz' || seen.has(url.pathname)) return;
    last = Date.now();
    const file = PAGES[url.pathname] ?? url.pathname.slice(1);
    seen.set(
      url.pathname,
      r
        .request()
        .sizes()
        .then(
          (s): Seen => ({
            path: url.pathname,
            encoding: r.headers()['content-encoding'] ?? null,
            vary: r.headers().vary ?? null,
            cache: r.headers()['cache-control'] ?? null,
            // The body as sent (Content-Length; Chromium reports 0 for a worker's own script).
            wire: Number(r.headers()['content-length'] ?? s.responseBodySize),
            file: statSync(join(DIST, file)).size,
          }),
        ),
    );
  });
  const status = (await (await fetch(`${baseURL}/api/status`)).json()) as { serverKeyFingerprint: string };
  await page.goto(`/?autojoin=1#fp=${status.serverKeyFingerprint}`);
  // The student's downloads: until the data sample, the worker and a WASM binary have arrived and nothing
  // new came for 3 s (bounded: 90 s).
  const t0 = Date.now();
  await expect
    .poll(
      () =>
        [...seen.keys()].some((p) => p.endsWith('.csv.gz')) &&
        [...seen.keys()].some((p) => p.includes('trainer.worker')) &&
        [...seen.keys()].some((p) => p.endsWith('.wasm')) &&
        (Date.now() - last > 3000 || Date.now() - t0 > 90_000),
      { timeout: 100_000, intervals: [500] },
    )
    .toBe(true);
  const all = await Promise.all(seen.values());
  expect(await page.evaluate(() => (globalThis as { __csp?: string[] }).__csp)).toEqual([]);
  for (const s of all) {
    if (/\.(js|wasm|html|css)$/.test(s.path) || s.path in PAGES) {
      if (s.file > 1024) expect(s.encoding, s.path).toBe('br');
      if (s.file > 1024) expect(s.vary, s.path).toBe('Accept-Encoding');
    }
    if (s.path.endsWith('.csv.gz')) expect(s.encoding, 'the sample is gzip already').toBeNull();
    if (s.path.startsWith('/assets/')) expect(s.cache, s.path).toBe('public, max-age=31536000, immutable');
    if (s.path in PAGES || s.path.endsWith('.html')) expect(s.cache, s.path).toBe('no-cache');
  }
  const wire = all.reduce((a, s) => a + s.wire, 0);
  const files = all.reduce((a, s) => a + s.file, 0);
  const rows = all
    .sort((a, b) => b.file - a.file)
    .map((s) => `${s.path} ${s.file} → ${s.wire} (${s.encoding ?? 'identity'})`);
  console.log(
    `student download: ${all.length} files, ${files} bytes uncompressed (before), ${wire} bytes on the wire (after), ` +
      `ratio ${(wire / files).toFixed(3)}\n${rows.join('\n')}`,
  );
  expect(wire).toBeLessThan(files);
});
