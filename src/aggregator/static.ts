/**
 * Static files of the built app (dist/), with the headers every response carries: cross-origin isolation
 * (SharedArrayBuffer, hence WASM threads) and basic hardening; pages also get a Content-Security-Policy.
 *
 * Faults are answers, never crashes: a path that leaves the root, a symlink whose target leaves it, or
 * anything but a regular file is 404; a file that vanishes or cannot be read between the lookup and the
 * last byte is 404/500 before the headers, or a cut connection after them (the stream has its error
 * handler). The file is opened once and checked through its descriptor, so what is checked is what is sent.
 *
 * Transfer: the build writes brotli and gzip twins (`x.js.br`, `x.js.gz`, vite.config.ts); the twin the
 * client accepts is sent with its `Content-Encoding` and `Vary: Accept-Encoding`. Hashed names under
 * `assets/` are cached for a year (`immutable`); pages and everything else are revalidated (`no-cache`).
 */
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, open, realpath } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gz': 'application/gzip',
  '.webmanifest': 'application/manifest+json',
};

/** Headers for every response: cross-origin isolation and basic hardening. */
export const SECURITY_HEADERS: Record<string, string> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/**
 * The pages' Content-Security-Policy: everything from this origin only. tfjs's WASM backend compiles
 * WebAssembly ('wasm-unsafe-eval'); its threaded build starts pthreads from blob: URLs (worker-src blob:);
 * the charts and panels set inline styles ('unsafe-inline' for styles only, never for scripts).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** App URLs → built pages (DESIGN.md: /, /dashboard, /bench, /simulate). */
const PAGES: Record<string, string> = {
  '/': 'index.html',
  '/dashboard': 'dashboard.html',
  '/bench': 'bench.html',
  '/simulate': 'simulate.html',
};

/** Precompressed twins, best first: [Accept-Encoding token, file suffix]. */
const ENCODINGS = [
  ['br', '.br'],
  ['gzip', '.gz'],
] as const;

/** A name Vite hashed (`assets/index-B1x_9aZc.js`): its content never changes under that name. */
const HASHED = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

/** Content codings the client accepts (q > 0), from its Accept-Encoding header. */
export function acceptedEncodings(header: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (!token) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    out.add(token);
  }
  return out;
}

/** A regular file inside `root` (after resolving symlinks), opened; null when there is none. */
async function openInside(
  realRoot: string,
  file: string,
): Promise<{ fh: FileHandle; size: number; mtime: Date } | null> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    return null;
  }
  if (!real.startsWith(realRoot + sep)) return null;
  let fh: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO would otherwise wait for a writer (it is then refused as not a file).
    fh = await open(real, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = await fh.stat();
    if (st.isFile()) return { fh, size: st.size, mtime: st.mtime };
  } catch {
    // fall through: not servable
  }
  await fh.close().catch(() => {});
  return null;
}

const realRoots = new Map<string, string>();

export async function serveStatic(
  req: IncomingMessage,
  res: ServerResponse,
  root: string,
  path: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.statusCode = 405;
    res.end();
    return;
  }
  let rel: string;
  try {
    rel = PAGES[path] ?? decodeURIComponent(path).replace(/^\/+/, '');
  } catch {
    res.statusCode = 400;
    res.end('bad path');
    return;
  }
  const notFound = () => {
    res.statusCode = 404;
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.end('not found');
  };
  const file = normalize(join(root, rel));
  if (!file.startsWith(root + sep) || rel.includes('\0')) return notFound();
  let realRoot = realRoots.get(root);
  if (realRoot === undefined) {
    realRoot = await realpath(root).catch(() => root);
    realRoots.set(root, realRoot);
  }
  const ext = extname(file);
  const isPage = ext === '.html';
  // A twin only for a file that is itself there (a stray `x.js.br` without `x.js` is not served as x.js).
  const plain = await openInside(realRoot, file);
  if (!plain) return notFound();
  let chosen = plain;
  let encoding: string | null = null;
  let hasTwin = false;
  if (ext !== '.gz' && ext !== '.br') {
    const accepted = acceptedEncodings(req.headers['accept-encoding']);
    for (const [token, suffix] of ENCODINGS) {
      const twin = await openInside(realRoot, file + suffix);
      if (!twin) continue;
      hasTwin = true;
      if (encoding === null && accepted.has(token)) {
        chosen = twin;
        encoding = token;
      } else await twin.fh.close().catch(() => {});
    }
  }
  if (chosen !== plain) await plain.fh.close().catch(() => {});
  res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream');
  res.setHeader('Content-Length', String(chosen.size));
  res.setHeader('Last-Modified', chosen.mtime.toUTCString());
  res.setHeader(
    'Cache-Control',
    HASHED.test(rel.split(sep).join('/')) ? 'public, max-age=31536000, immutable' : 'no-cache',
  );
  if (hasTwin) res.setHeader('Vary', 'Accept-Encoding');
  if (encoding) res.setHeader('Content-Encoding', encoding);
  if (isPage) res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  // Revalidation (`no-cache`): unchanged since the copy the client has → 304 without a body.
  const since = Date.parse(req.headers['if-modified-since'] ?? '');
  const notModified = Number.isFinite(since) && Math.floor(chosen.mtime.getTime() / 1000) * 1000 <= since;
  if (req.method === 'HEAD' || notModified) {
    await chosen.fh.close().catch(() => {});
    if (notModified) {
      res.statusCode = 304;
      res.removeHeader('Content-Length');
      res.removeHeader('Content-Type');
    }
    res.end();
    return;
  }
  const stream = createReadStream('', { fd: chosen.fh, autoClose: true });
  stream.on('error', () => {
    // The file went away or could not be read (EIO): an error status if nothing was sent yet, else the
    // connection is cut, so the client sees a short body rather than a complete-looking wrong one.
    if (!res.headersSent) {
      res.removeHeader('Content-Encoding');
      res.removeHeader('Content-Length');
      res.statusCode = 500;
      res.end('read error');
    } else res.destroy();
  });
  res.on('close', () => stream.destroy());
  stream.pipe(res);
}
