/**
 * `pqfed serve [--port N] [--host H]`: serves the built app (dist/) with the cross-origin isolation headers
 * that WASM threads need, and GET /healthz. The federated aggregator (WebSocket, /api/status, admin API)
 * attaches to this server in src/aggregator/ (federation-core issue).
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, parse, stringFlag, UsageError } from './args.ts';

const ROOT = resolve(fileURLToPath(new URL('../../dist', import.meta.url)));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gz': 'application/gzip',
  '.webmanifest': 'application/manifest+json',
};

/** Headers for every response: cross-origin isolation (SharedArrayBuffer → WASM threads) and basic hardening. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

const PAGES: Record<string, string> = { '/': 'index.html' };

export async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parse(argv, {
    port: { type: 'string' },
    host: { type: 'string' },
    json: { type: 'boolean' },
  });
  const port = intFlag(values.port ?? process.env.PORT, 'port', 8080, 0, 65535);
  const host = stringFlag(values.host, 'host') ?? 'localhost';
  if (!existsSync(join(ROOT, 'index.html')))
    throw new UsageError('the app is not built: run `npm run build` first');
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/healthz') {
      res.setHeader('Content-Type', 'application/json');
      res.end('{"ok":true}');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.end();
      return;
    }
    const rel = PAGES[url.pathname] ?? decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const file = normalize(join(ROOT, rel));
    if (!file.startsWith(ROOT + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end('not found');
      return;
    }
    res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(
        e.code === 'EADDRINUSE' ? new UsageError(`port ${port} is already in use (set --port or PORT)`) : e,
      ),
    );
    server.listen(port, host, ok);
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  process.stderr.write(`PQFed serving on http://${host}:${actual}/\n`);
}
