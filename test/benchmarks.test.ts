/**
 * The crowd-sourced browser benchmark table on a real aggregator: a valid result is stored and listed,
 * invalid ones are refused with a message (400, 413, 415), submissions are rate-limited per address, and
 * the table survives a restart on the same data directory.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BENCHMARK_RATE, BENCHMARKS_FILE } from '../src/aggregator/benchmarks.ts';
import type { PreparedExperiment } from '../src/aggregator/experiment.ts';
import type { BenchResult } from '../src/core/benchmark-result.ts';
import { sampleBenchResult } from '../src/core/benchmark-test-support.ts';
import { smallExperiment, startTestAggregator, type TestAggregator } from './federation.ts';

let exp: PreparedExperiment;
let t: TestAggregator;
let base: string;

beforeAll(async () => {
  exp = await smallExperiment();
  t = await startTestAggregator(exp);
  base = `http://127.0.0.1:${t.agg.port}`;
}, 120_000);

afterAll(async () => {
  await t?.agg.close();
});

function post(body: string, type = 'application/json'): Promise<Response> {
  return fetch(`${base}/api/benchmarks`, { method: 'POST', headers: { 'Content-Type': type }, body });
}

async function list(): Promise<{
  entries: { id: string; receivedAt: string; result: BenchResult }[];
  total: number;
}> {
  const r = await fetch(`${base}/api/benchmarks`);
  expect(r.status).toBe(200);
  return r.json();
}

describe('/api/benchmarks', () => {
  it('stores a valid result and lists it', async () => {
    expect((await list()).entries).toEqual([]);
    const r = await post(JSON.stringify(sampleBenchResult()));
    expect(r.status).toBe(201);
    const body = (await r.json()) as { ok: boolean; id: string; total: number };
    expect(body).toMatchObject({ ok: true, total: 1 });
    const listed = await list();
    expect(listed.entries).toHaveLength(1);
    expect(listed.entries[0]).toMatchObject({ id: body.id, result: sampleBenchResult() });
    expect(existsSync(join(t.dataDir, BENCHMARKS_FILE))).toBe(true);
  });

  it('refuses what is not a valid result, saying what was expected and what came', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post('{"format":'), 400, 'expected a JSON object (a /bench result), got invalid JSON'],
      [
        post(
          JSON.stringify({
            ...sampleBenchResult(),
            crypto: { ...sampleBenchResult().crypto, aes256GcmMBPerSec: -1 },
          }),
        ),
        400,
        'result.crypto.aes256GcmMBPerSec: expected a finite number in (0, 1000000000], got -1',
      ],
      [post(JSON.stringify({ ...sampleBenchResult(), ip: '1.2.3.4' })), 400, 'got also ip'],
      [post(JSON.stringify([1, 2])), 400, 'result: expected an object, got an array of 2'],
      [
        post(JSON.stringify(sampleBenchResult()), 'text/plain'),
        415,
        'expected Content-Type application/json, got "text/plain"',
      ],
      [post(`{"pad":"${'x'.repeat(70_000)}"}`), 413, 'expected at most 65536 bytes of JSON, got more'],
      [fetch(`${base}/api/benchmarks`, { method: 'DELETE' }), 405, 'expected GET or POST, got DELETE'],
    ];
    for (const [response, status, message] of cases) {
      const r = await response;
      expect(r.status, message).toBe(status);
      expect(((await r.json()) as { error: string }).error).toContain(message);
    }
    expect((await list()).total).toBe(1);
  });

  it('accepts a few results a minute from one address, then says when to come back', async () => {
    for (let i = 1; i < BENCHMARK_RATE.accepted; i++) {
      expect((await post(JSON.stringify(sampleBenchResult()))).status).toBe(201);
    }
    const r = await post(JSON.stringify(sampleBenchResult()));
    expect(r.status).toBe(429);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await r.json()) as { error: string }).error).toContain(
      `more than ${BENCHMARK_RATE.accepted} results a minute`,
    );
    expect((await list()).total).toBe(BENCHMARK_RATE.accepted);
  });

  it('survives a restart on the same data directory', async () => {
    const before = await list();
    await t.agg.close();
    t = await startTestAggregator(exp, t.dataDir);
    base = `http://127.0.0.1:${t.agg.port}`;
    expect(await list()).toEqual(before);
    // Rate counters live in the process: the restarted server accepts this address again.
    expect((await post(JSON.stringify(sampleBenchResult()))).status).toBe(201);
    expect((await list()).total).toBe(before.total + 1);
  }, 60_000);
});
