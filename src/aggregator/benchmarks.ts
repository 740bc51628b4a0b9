/**
 * The crowd-sourced browser benchmark table: `POST /api/benchmarks` adds one result of the `/bench` page,
 * `GET /api/benchmarks` lists them. Submissions are validated strictly (src/core/benchmark-result.ts), read
 * up to 64 KiB, rate-limited per address, and kept in `<data dir>/benchmarks.json` (written atomically),
 * capped to the last 500. No address is stored.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  type BenchResult,
  BenchResultError,
  MAX_BENCH_JSON_BYTES,
  parseBenchResult,
} from '../core/benchmark-result.ts';
import { writeFileAtomic } from './atomic-file.ts';
import { clientAddressOf } from './client-address.ts';
import { RateLimiter } from './http/rate-limit.ts';

export const BENCHMARKS_FILE = 'benchmarks.json';
/** Results kept: the newest ones. */
export const MAX_BENCHMARKS = 500;
/** Per address and minute: results accepted, and requests of any kind (valid or not). */
export const BENCHMARK_RATE = { accepted: 5, attempts: 30, windowMs: 60_000 } as const;

export interface StoredBenchmark {
  /** Random id given by the server. */
  id: string;
  /** When the server received it (ISO 8601). */
  receivedAt: string;
  result: BenchResult;
}

/** `GET /api/benchmarks`: oldest first. */
export interface BenchmarkList {
  entries: StoredBenchmark[];
  total: number;
  max: number;
}

interface FileShape {
  format: 'pqfed-benchmarks';
  version: 1;
  entries: StoredBenchmark[];
}

export class BenchmarkStore {
  private entries: StoredBenchmark[] = [];
  private readonly accepted = new RateLimiter(BENCHMARK_RATE.accepted, BENCHMARK_RATE.windowMs);
  private readonly attempts = new RateLimiter(BENCHMARK_RATE.attempts, BENCHMARK_RATE.windowMs);

  /** `dataDir` null: kept in memory only. A corrupt file is set aside (`.corrupt-<time>`), never overwritten. */
  constructor(
    private readonly dataDir: string | null,
    private readonly log: (line: string) => void = () => {},
    private readonly max = MAX_BENCHMARKS,
  ) {
    if (!dataDir) return;
    const path = join(dataDir, BENCHMARKS_FILE);
    if (!existsSync(path)) return;
    try {
      const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<FileShape>;
      if (file.format !== 'pqfed-benchmarks' || !Array.isArray(file.entries))
        throw new Error('not a pqfed-benchmarks file');
      let dropped = 0;
      for (const e of file.entries) {
        try {
          if (typeof e.id !== 'string' || typeof e.receivedAt !== 'string') throw new Error('no id');
          this.entries.push({ id: e.id, receivedAt: e.receivedAt, result: parseBenchResult(e.result) });
        } catch {
          dropped++;
        }
      }
      this.entries = this.entries.slice(-this.max);
      if (dropped) log(`benchmarks: dropped ${dropped} invalid entries of ${path}`);
    } catch (e) {
      const aside = `${path}.corrupt-${Date.now()}`;
      renameSync(path, aside);
      log(
        `benchmarks: ${path} could not be read (${(e as Error).message}); moved to ${aside}, starting empty`,
      );
    }
  }

  list(): BenchmarkList {
    return { entries: [...this.entries], total: this.entries.length, max: this.max };
  }

  /** Adds a validated result (the newest `max` are kept) and saves the table atomically. */
  add(result: BenchResult, now = new Date()): StoredBenchmark {
    const entry: StoredBenchmark = {
      id: randomBytes(9).toString('base64url'),
      receivedAt: now.toISOString(),
      result,
    };
    const next = [...this.entries, entry].slice(-this.max);
    if (this.dataDir) {
      const file: FileShape = { format: 'pqfed-benchmarks', version: 1, entries: next };
      writeFileAtomic(join(this.dataDir, BENCHMARKS_FILE), Buffer.from(JSON.stringify(file)), 0o600);
    }
    this.entries = next;
    return entry;
  }

  /** `GET` and `POST /api/benchmarks`. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'GET' || req.method === 'HEAD') return reply(res, 200, this.list());
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'GET, POST');
      return reply(res, 405, { error: `benchmarks: expected GET or POST, got ${req.method}` });
    }
    const address = clientAddressOf(req);
    const wait = this.attempts.take(address);
    if (wait) return tooMany(res, wait, `more than ${BENCHMARK_RATE.attempts} requests a minute`);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      // Also keeps other sites' forms out: a cross-site JSON POST needs a preflight this server never grants.
      return reply(res, 415, {
        error: `benchmarks: expected Content-Type application/json, got ${type ? JSON.stringify(type.slice(0, 60)) : 'none'}`,
      });
    }
    const body = await readLimited(req, MAX_BENCH_JSON_BYTES);
    if (body === null) {
      res.setHeader('Connection', 'close');
      res.once('finish', () => req.destroy());
      return reply(res, 413, {
        error: `benchmarks: expected at most ${MAX_BENCH_JSON_BYTES} bytes of JSON, got more`,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (e) {
      return reply(res, 400, {
        error: `benchmarks: expected a JSON object (a /bench result), got invalid JSON (${(e as Error).message.slice(0, 100)})`,
      });
    }
    let result: BenchResult;
    try {
      result = parseBenchResult(value);
    } catch (e) {
      if (e instanceof BenchResultError) return reply(res, 400, { error: `benchmarks: ${e.message}` });
      throw e;
    }
    const waitAccepted = this.accepted.take(address);
    if (waitAccepted)
      return tooMany(res, waitAccepted, `more than ${BENCHMARK_RATE.accepted} results a minute`);
    const entry = this.add(result);
    this.log(`benchmarks: added ${entry.id} (${this.entries.length} kept)`);
    return reply(res, 201, {
      ok: true,
      id: entry.id,
      receivedAt: entry.receivedAt,
      total: this.entries.length,
    });
  }
}

function tooMany(res: ServerResponse, seconds: number, what: string): void {
  res.setHeader('Retry-After', String(seconds));
  reply(res, 429, { error: `benchmarks: ${what} from this address; try again in ${seconds} s` });
}

function reply(res: ServerResponse, code: number, body: unknown): void {
  res.statusCode = code;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify(body));
}

/** The body as text, or null once it passes `max` bytes (the rest is not read). */
function readLimited(req: IncomingMessage, max: number): Promise<string | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve(null);
  return new Promise((ok, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        ok(null);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => ok(Buffer.concat(chunks).toString('utf8')));
    req.on('error', fail);
  });
}
