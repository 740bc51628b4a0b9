/**
 * `/api/explain` under a storm, on a real aggregator over HTTP: twenty requests for the suggestions of a
 * model cost one scan (cache and answers in flight checked before queueing); many distinct rows at once
 * are held to the queue bound (the rest 503 with Retry-After) and to the per-address rate (429 with
 * Retry-After), all counted; and /healthz is answered while explanation work is pending (the work runs in
 * a worker thread). Its p99 latency during the storm is printed, never asserted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPLAIN } from '../src/core/limits.ts';
import { getStatus, smallExperiment, startTestAggregator, type TestAggregator } from './federation.ts';

let t: TestAggregator;
let base: string;

beforeAll(async () => {
  t = await startTestAggregator(await smallExperiment({ rounds: 1, autoStart: false, maxTestRows: 400 }));
  base = `http://127.0.0.1:${t.agg.port}`;
}, 60_000);
afterAll(async () => {
  await t.agg.close();
});

describe('/api/explain under load', () => {
  it('twenty concurrent suggestion requests for one model version cost one scan', async () => {
    const before = t.agg.explainStats().computed;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${base}/api/explain`).then((r) => r.json())),
    );
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    expect(t.agg.explainStats().computed - before).toBe(1);
  }, 60_000);

  it('a storm of distinct rows: bounded queue (503), per-address rate (429), /healthz answered meanwhile', async () => {
    const used = 20; // the requests of the test before, in the same minute
    const n = 150;
    const latencies: number[] = [];
    let answeredWhilePending = 0;
    let storming = true;
    const probe = (async () => {
      // Bounded: at most 2,000 probes, until the storm has been answered.
      for (let i = 0; i < 2000 && storming; i++) {
        const pending = t.agg.explainStats().pending;
        const t0 = performance.now();
        const r = await fetch(`${base}/healthz`);
        latencies.push(performance.now() - t0);
        expect(r.status).toBe(200);
        if (pending > 0 && t.agg.explainStats().pending > 0) answeredWhilePending++;
        await new Promise((ok) => setTimeout(ok, 10));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const r = await fetch(`${base}/api/explain?row=${i}`);
        await r.arrayBuffer();
        return { status: r.status, retryAfter: r.headers.get('retry-after') };
      }),
    );
    storming = false;
    await probe;
    const by = (s: number) => answers.filter((a) => a.status === s);
    const allowed = EXPLAIN.perAddressPerMinute - used;
    expect(by(429)).toHaveLength(n - allowed);
    expect(by(200).length).toBeGreaterThan(0);
    expect(by(503).length).toBeGreaterThan(0);
    expect(by(200).length + by(503).length).toBe(allowed);
    for (const a of [...by(429), ...by(503)]) expect(Number(a.retryAfter)).toBeGreaterThan(0);
    const stats = t.agg.explainStats();
    expect(stats.maxPending).toBeLessThanOrEqual(EXPLAIN.maxQueue);
    expect(stats.maxPending).toBe(EXPLAIN.maxQueue);
    expect(stats.refused).toBe(by(503).length);
    expect(answeredWhilePending).toBeGreaterThan(0);
    const s = await getStatus(t);
    expect(s.refusals['explain-busy']).toBe(by(503).length);
    expect(s.refusals['explain-rate-limited']).toBe(n - allowed);
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
    console.log(
      `explain storm: ${by(200).length} answered, ${by(503).length} × 503, ${by(429).length} × 429; ` +
        `/healthz during it: ${latencies.length} probes, median ${p(0.5).toFixed(1)} ms, p99 ${p(0.99).toFixed(1)} ms`,
    );
  }, 120_000);
});
