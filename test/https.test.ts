/**
 * HTTPS for the classroom: an aggregator with a certificate serves its API and `wss` over TLS (checked
 * against that very certificate, as a student's browser does after the warning), and `pqfed serve` refuses
 * a bad --tls-cert/--tls-key/--public-url with one line and exit code 2 before loading any data.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { makeSelfSigned } from '../src/aggregator/tls.ts';
import { smallExperiment, startTestAggregator, type TestAggregator } from './federation.ts';

const NAMES = { dns: ['localhost', 'classroom.test'], ips: ['127.0.0.1', '::1'] };
let t: TestAggregator;
let cert: string;
let key: string;

beforeAll(async () => {
  ({ cert, key } = await makeSelfSigned(NAMES, new Date()));
  t = await startTestAggregator(await smallExperiment({ autoStart: false }), undefined, 'xwing', {
    tls: { cert, key },
    publicUrl: `https://classroom.test:1`,
  });
});
afterAll(async () => {
  await t.agg.close();
});

function getJson(path: string, ca: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    get({ host: '127.0.0.1', port: t.agg.port, path, ca, servername: 'classroom.test' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => {
        text += d.toString();
      });
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).once('error', fail);
  });
}

describe('an aggregator with a certificate', () => {
  it('serves its API over HTTPS, verified against that certificate', async () => {
    const r = await getJson('/api/status', cert);
    expect(r.status).toBe(200);
    expect(String(r.body.join)).toMatch(/^https:\/\/classroom\.test:1\/\?autojoin=1#fp=/);
  });

  it('refuses a client that does not trust the certificate (TLS really is on)', async () => {
    const other = await makeSelfSigned(NAMES, new Date());
    await expect(getJson('/healthz', other.cert)).rejects.toThrow(/self-signed|certificate/i);
  });

  it('accepts wss from its own https origin and refuses the http one', async () => {
    const port = t.agg.port;
    const open = (origin: string) =>
      new Promise<number>((ok) => {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { origin, ca: cert });
        ws.once('open', () => {
          ws.terminate();
          ok(101);
        });
        ws.once('unexpected-response', (_q, res) => ok(res.statusCode ?? 0));
        ws.once('error', () => ok(0));
      });
    expect(await open(`https://localhost:${port}`)).toBe(101);
    expect(await open('https://classroom.test:1')).toBe(101);
    expect(await open(`http://localhost:${port}`)).toBe(403);
  });
});

/** A plain-HTTP request to the HTTPS port: status, Location and whether the socket was closed. */
function plainGet(path: string, host: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((ok, fail) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: t.agg.port, path, setHost: false, headers: { host } },
      (res) => {
        res.resume();
        res.on('end', () => ok({ status: res.statusCode ?? 0, location: res.headers.location }));
      },
    );
    req.once('error', fail);
    req.end();
  });
}

describe('plain HTTP on the HTTPS port', () => {
  it('is redirected to the same host and path over https (a student who typed no https://)', async () => {
    const host = `classroom.test:${t.agg.port}`;
    expect(await plainGet('/?autojoin=1', host)).toEqual({
      status: 308,
      location: `https://${host}/?autojoin=1`,
    });
    expect(await plainGet('/dashboard', '[::1]:8443')).toEqual({
      status: 308,
      location: 'https://[::1]:8443/dashboard',
    });
  });

  it('refuses to put a strange Host in a redirect, and HTTPS goes on working beside it', async () => {
    expect((await plainGet('/', 'evil.example/x?')).status).toBe(400);
    expect((await plainGet('/', '')).status).toBe(400);
    expect((await getJson('/healthz', cert)).body).toEqual({ ok: true });
  });
});

describe('pqfed serve, bad network flags', () => {
  const BIN = new URL('../bin/pqfed.js', import.meta.url).pathname;
  const serve = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'serve', '--port', '0', '--host', '127.0.0.1', ...args], {
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('refuse a missing, mismatched or lone TLS file and a bad public URL: one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-tls-flags-'));
    const other = await makeSelfSigned(NAMES, new Date());
    writeFileSync(join(dir, 'cert.pem'), cert);
    writeFileSync(join(dir, 'other.key'), other.key);
    const cases: [string[], RegExp][] = [
      [['--tls-cert', join(dir, 'none.pem'), '--tls-key', join(dir, 'other.key')], /--tls-cert: .*none\.pem/],
      [
        ['--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'other.key')],
        /is not the private key of/,
      ],
      [['--tls-cert', join(dir, 'cert.pem'), '--tls-key', dir], /cannot read the private key file/],
      [['--tls-cert', join(dir, 'cert.pem')], /--tls-cert and --tls-key go together/],
      [['--public-url', 'classroom.test'], /--public-url must be an absolute URL/],
    ];
    for (const [args, message] of cases) {
      const r = serve(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
  }, 120_000);
});
