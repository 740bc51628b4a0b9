/**
 * The static server under faults and for transfer, over a real HTTP server on loopback: read errors
 * (a symlink to /proc/self/mem, assets deleted and recreated while requested, a FIFO, symlinks leaving the
 * root) are answers and never end the process; precompressed twins are sent per Accept-Encoding with
 * `Vary`, hashed assets are cached for a year, pages get `no-cache` and a Content-Security-Policy.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptedEncodings, CONTENT_SECURITY_POLICY, serveStatic } from './static.ts';

let root: string;
let outside: string;
let server: Server;
let base: string;
const errors: string[] = [];
const JS = `export const x = ${JSON.stringify('a'.repeat(5000))};\n`;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pqfed-static-'));
  root = join(dir, 'dist');
  outside = join(dir, 'secret.txt');
  mkdirSync(join(root, 'assets'), { recursive: true });
  mkdirSync(join(root, 'data'));
  writeFileSync(outside, 'secret');
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'assets', 'app-AbCd12_9.js'), JS);
  writeFileSync(join(root, 'assets', 'app-AbCd12_9.js.br'), brotliCompressSync(JS));
  writeFileSync(join(root, 'assets', 'app-AbCd12_9.js.gz'), gzipSync(JS));
  writeFileSync(join(root, 'data', 'sample.csv.gz'), gzipSync('a,b\n1,2\n'));
  writeFileSync(join(root, 'assets', 'churn-AAAAAAAA.js'), JS);
  symlinkSync('/proc/self/mem', join(root, 'mem.js'));
  symlinkSync(outside, join(root, 'leak.txt'));
  symlinkSync(join(root, 'index.html'), join(root, 'alias.html'));
  execFileSync('mkfifo', [join(root, 'pipe.js')]);
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // As server.ts does: a rejected promise is logged and answered 500.
    Promise.resolve(serveStatic(req, res, root, path)).catch((e: Error) => {
      errors.push(e.message);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((ok) => server.close(() => ok()));
  rmSync(join(root, '..'), { recursive: true, force: true });
});

async function alive(): Promise<void> {
  const r = await fetch(`${base}/`);
  expect(r.status).toBe(200);
  expect(await r.text()).toContain('<title>x</title>');
}

describe('static faults never end the server', () => {
  it('a symlink to /proc/self/mem is refused (404), and the server still answers', async () => {
    const r = await fetch(`${base}/mem.js`);
    expect(r.status).toBe(404);
    await alive();
  });

  it('symlinks leaving the root and non-regular files are 404; a symlink inside the root is served', async () => {
    expect((await fetch(`${base}/leak.txt`)).status).toBe(404);
    expect((await fetch(`${base}/pipe.js`)).status).toBe(404);
    expect((await fetch(`${base}/assets`)).status).toBe(404);
    expect((await fetch(`${base}/%2e%2e/secret.txt`)).status).toBe(404);
    const alias = await fetch(`${base}/alias.html`);
    expect(alias.status).toBe(200);
    expect(await alias.text()).toContain('<title>x</title>');
    await alive();
  });

  it('assets deleted and recreated while they are requested: every answer is whole or an error status', async () => {
    const file = join(root, 'assets', 'churn-AAAAAAAA.js');
    let stop = false;
    const churn = (async () => {
      // Bounded: at most 2,000 delete/recreate cycles, yielding between them.
      for (let i = 0; i < 2000 && !stop; i++) {
        try {
          unlinkSync(file);
        } catch {}
        await new Promise((ok) => setImmediate(ok));
        writeFileSync(file, JS);
        await new Promise((ok) => setTimeout(ok, 1));
      }
    })();
    const statuses = new Map<number, number>();
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 10 }, async () => {
          try {
            const r = await fetch(`${base}/assets/churn-AAAAAAAA.js`, { headers: { 'accept-encoding': '' } });
            const body = await r.text();
            if (r.status === 200) expect(body).toBe(JS);
            return r.status;
          } catch {
            return -1; // a connection cut mid-body is allowed; a dead server is not (checked below)
          }
        }),
      );
      for (const s of answers) statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
    stop = true;
    await churn;
    for (const s of statuses.keys()) expect([200, 404, 500, -1]).toContain(s);
    // How many of those hit the file while it existed depends on timing (a loaded machine can see none):
    // once the churn has stopped, the same asset is served whole.
    const after = await fetch(`${base}/assets/churn-AAAAAAAA.js`, { headers: { 'accept-encoding': '' } });
    expect(after.status).toBe(200);
    expect(await after.text()).toBe(JS);
    expect(errors).toEqual([]);
    await alive();
  });
});

describe('static transfer', () => {
  it('sends the brotli twin when accepted, else gzip, else the file, always with Vary', async () => {
    const url = `${base}/assets/app-AbCd12_9.js`;
    const br = await fetch(url, { headers: { 'accept-encoding': 'gzip, br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('vary')).toBe('Accept-Encoding');
    expect(await br.text()).toBe(JS); // fetch decodes it
    const raw = await rawGet(url, 'gzip;q=1, br;q=0');
    expect(raw.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toBe(JS);
    const raw2 = await rawGet(url, 'br');
    expect(brotliDecompressSync(raw2.body).toString()).toBe(JS);
    expect(Number(raw2.headers['content-length'])).toBe(raw2.body.length);
    expect(raw2.body.length).toBeLessThan(JS.length / 10);
    const plain = await rawGet(url, 'identity');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.headers.vary).toBe('Accept-Encoding');
    expect(plain.body.toString()).toBe(JS);
  });

  it('hashed assets are immutable for a year; pages are no-cache with a CSP; .gz data is not re-encoded', async () => {
    const js = await rawGet(`${base}/assets/app-AbCd12_9.js`, 'br');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-security-policy']).toBeUndefined();
    const page = await rawGet(`${base}/`, 'br, gzip');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    const data = await rawGet(`${base}/data/sample.csv.gz`, 'gzip, br');
    expect(data.headers['content-encoding']).toBeUndefined();
    expect(data.headers['content-type']).toBe('application/gzip');
    expect(data.headers['cache-control']).toBe('no-cache');
    expect(gunzipSync(data.body).toString()).toBe('a,b\n1,2\n');
  });

  it('revalidates with If-Modified-Since: 304 while unchanged, 200 after a change', async () => {
    const first = await fetch(`${base}/`);
    const lastModified = first.headers.get('last-modified')!;
    expect(lastModified).toBeTruthy();
    const again = await fetch(`${base}/`, { headers: { 'if-modified-since': lastModified } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const old = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await fetch(`${base}/`, { headers: { 'if-modified-since': old } })).status).toBe(200);
  });

  it('reads Accept-Encoding with q-values', () => {
    expect([...acceptedEncodings('gzip, deflate, br, zstd')]).toEqual(['gzip', 'deflate', 'br', 'zstd']);
    expect([...acceptedEncodings('br;q=0, gzip;q=0.5')]).toEqual(['gzip']);
    expect([...acceptedEncodings(undefined)]).toEqual([]);
  });
});

/** GET without fetch's automatic decoding: the bytes as sent. */
async function rawGet(
  url: string,
  acceptEncoding: string,
): Promise<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const { request } = await import('node:http');
  return new Promise((ok, fail) => {
    const req = request(url, { headers: { 'accept-encoding': acceptEncoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end();
  });
}
