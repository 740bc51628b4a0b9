/**
 * Faults the aggregator survives, on a real aggregator over real sockets: a checkpoint write that fails
 * (a directory where the temporary file goes) is logged, shown in /api/status, retried, and never ends the
 * process or loses the round; a client declaring 10⁸ samples weighs no more than the shard the server
 * assigned it; client addresses are only in the admin API; an evaluation that fails (the evaluator's tfjs out
 * of memory) neither wedges the federation nor ends the process.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { checkpointPath, loadCheckpoint } from '../src/aggregator/checkpoint.ts';
import {
  answerRound,
  getStatus,
  joinRaw,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  twoClients,
  waitFor,
} from './federation.ts';

let t: TestAggregator | null = null;
afterEach(async () => {
  await t?.agg.close();
  t = null;
});

const TWO = { quorum: 2, clientsPerRound: { fraction: 1, min: 2, max: 2 }, rounds: 3 };

describe('a failed checkpoint write', () => {
  it('is reported and retried; the process, the server and the aggregated round survive', async () => {
    t = await startTestAggregator(await smallExperiment(TWO));
    const tmp = `${checkpointPath(t.dataDir)}.${process.pid}.tmp`;
    mkdirSync(tmp); // rename(tmp → checkpoint) and open(tmp) now fail with EISDIR
    const { a, b, size } = await twoClients(t);
    const before = t.agg.coordinator.globalWeights();
    await Promise.all([
      answerRound(a, size, { numSamples: 50, fill: 0.01 }),
      answerRound(b, size, { numSamples: 50, fill: 0.01 }),
    ]);
    await waitFor(() => t!.agg.coordinator.roundsCompleted === 1, 20_000, 'round 1 to close');
    await t.agg.coordinator.idle();
    const s = (await getStatus(t)) as Awaited<ReturnType<typeof getStatus>>;
    expect(s.round).toBe(1);
    expect(s.checkpoint.ok).toBe(false);
    expect(s.checkpoint.error).toMatch(/EISDIR/);
    expect(s.checkpoint.failedSince).not.toBeNull();
    expect(s.checkpoint.lastSavedRound).toBeNull();
    expect(t.logs.some((l) => l.includes('CHECKPOINT WRITE FAILED'))).toBe(true);
    // The round's aggregate is kept in memory: the model moved.
    expect(t.agg.coordinator.modelVersion).toBe(1);
    expect(t.agg.coordinator.globalWeights()[0]).toBeCloseTo(before[0]! + 0.01, 4);
    expect((await fetch(`http://127.0.0.1:${t.agg.port}/healthz`)).status).toBe(200);
    // Unblocked: the backoff timer writes it without waiting for another round.
    rmSync(tmp, { recursive: true });
    await waitFor(() => t!.agg.coordinator.status(null).checkpoint.ok, 10_000, 'the retried write');
    const s2 = await getStatus(t);
    expect(s2.checkpoint.lastSavedRound).toBe(1);
    expect(s2.checkpoint.error).toBeNull();
    expect(loadCheckpoint(t.dataDir)?.round).toBe(1);
    a.ws.close();
    b.ws.close();
  }, 60_000);
});

describe('declared sample counts', () => {
  it('a client declaring 10⁸ samples weighs at most the shard it was assigned', async () => {
    const exp = await smallExperiment(TWO);
    t = await startTestAggregator(exp, undefined, undefined, { capToAssignedShard: true });
    const a = await rawConnection(t.url, t.spec);
    const b = await rawConnection(t.url, t.spec);
    const wa = await joinRaw(a, 100_000_000);
    await joinRaw(b, 50);
    const size = wa.experiment.modelSize;
    const rows = exp.shards(exp.shardSource!.count, exp.config.partition).map((s) => s.n);
    const cap = rows[wa.shard!]!;
    expect(cap).toBeGreaterThan(0);
    expect(cap).toBeLessThan(100_000_000);
    const before = t.agg.coordinator.globalWeights();
    // a pushes every weight by +1, b by 0: FedAvg moves the model by a's share of the samples.
    await Promise.all([
      answerRound(a, size, { numSamples: 100_000_000, fill: 1 }),
      answerRound(b, size, { numSamples: 50, fill: 0 }),
    ]);
    await waitFor(() => t!.agg.coordinator.roundsCompleted === 1, 20_000, 'round 1 to close');
    await t.agg.coordinator.idle();
    const after = t.agg.coordinator.globalWeights();
    const moved = after[0]! - before[0]!;
    expect(moved).toBeCloseTo(cap / (cap + 50), 4);
    expect(moved).toBeLessThan(0.99);
    const rec = (await getStatus(t)).history[0]!;
    expect(rec.clientMetrics.map((m) => m.numSamples).sort((x, y) => x - y)).toEqual(
      [50, cap].sort((x, y) => x - y),
    );
    a.ws.close();
    b.ws.close();
  }, 60_000);
});

describe('client addresses', () => {
  it('are left out of the public /api/status and listed by the admin API', async () => {
    t = await startTestAggregator(await smallExperiment({ ...TWO, autoStart: false }));
    const a = await rawConnection(t.url, t.spec);
    const { clientId } = await joinRaw(a, 50);
    const s = await getStatus(t);
    expect(s.clientList).toHaveLength(1);
    expect(JSON.stringify(s)).not.toContain('127.0.0.1');
    const base = `http://127.0.0.1:${t.agg.port}/api/admin/clients`;
    expect((await fetch(base)).status).toBe(401);
    const r = await fetch(base, { headers: { authorization: `Bearer ${t.agg.adminToken}` } });
    expect(r.status).toBe(200);
    const { addresses } = (await r.json()) as { addresses: Record<string, string> };
    expect(addresses[clientId]).toMatch(/^127\.0\.0\.1/);
    a.ws.close();
  }, 60_000);
});

describe('a failed evaluation', () => {
  it('adopts the aggregate without metrics, counts it, and the next round goes on', async () => {
    t = await startTestAggregator(await smallExperiment(TWO));
    // Fault injection: the evaluator fails once, as tfjs out of memory would.
    const opts = (
      t.agg.coordinator as unknown as { opts: { evaluate: (w: Float32Array) => Promise<unknown> } }
    ).opts;
    const evaluate = opts.evaluate;
    let calls = 0;
    opts.evaluate = (w) =>
      ++calls === 1 ? Promise.reject(new Error('evaluator out of memory')) : evaluate(w);
    const { a, b, size } = await twoClients(t);
    const before = t.agg.coordinator.globalWeights();
    await Promise.all([
      answerRound(a, size, { numSamples: 50, fill: 0.01 }),
      answerRound(b, size, { numSamples: 50, fill: 0.01 }),
    ]);
    await waitFor(() => t!.agg.coordinator.roundsCompleted === 1, 20_000, 'round 1 to close');
    const s1 = await getStatus(t);
    expect(s1.history[0]).toMatchObject({ round: 1, outcome: 'aggregated', participants: 2, accuracy: null });
    expect(s1.refusals['evaluation-failed']).toBe(1);
    expect(t.agg.coordinator.globalWeights()[0]).toBeCloseTo(before[0]! + 0.01, 6);
    // The federation is not wedged: round 2 runs and is evaluated.
    await Promise.all([
      answerRound(a, size, { numSamples: 50, fill: 0.01 }),
      answerRound(b, size, { numSamples: 50, fill: 0.01 }),
    ]);
    await waitFor(() => t!.agg.coordinator.roundsCompleted === 2, 20_000, 'round 2 to close');
    const s2 = await getStatus(t);
    expect(s2.history[1]).toMatchObject({ round: 2, outcome: 'aggregated', participants: 2 });
    expect(typeof s2.history[1]!.accuracy).toBe('number');
    a.ws.close();
    b.ws.close();
  }, 60_000);
});
