/**
 * Client-level differential privacy with server-side noise, end to end on a real aggregator (real WebSockets,
 * the post-quantum channel, real clients training on the embedded TON_IoT sample): ε at δ grows every round
 * in /api/status and the round history, as the accountant says for q = selected / ready clients; the round
 * that would cross `targetEpsilon` does not start and the status says why; a restart on the same data
 * directory resumes the budget exactly. `pqfed serve` takes the DP flags over its experiment file. Plus the
 * `clipNorm` fit setting on the wire.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RdpAccountant } from '../src/core/privacy/accountant.ts';
import { decodeServerFrame, encodeFrame, ProtocolError } from '../src/core/protocol.ts';
import {
  getStatus,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  testClient,
  waitFor,
} from './federation.ts';

const open: TestAggregator[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.agg.close();
});

/** ε at δ = 1e-5 after k rounds at q = 2/3 (3 ready clients, 2 selected), z = 1.5. */
function epsilonAfter(k: number): number {
  const a = new RdpAccountant();
  a.compose(2 / 3, 1.5, k);
  return a.epsilon(1e-5);
}

describe('client-level DP on the real aggregator', () => {
  it('reports ε per round, stops before the target ε, and resumes the budget after a restart', async () => {
    // A target between ε after 3 rounds and after 4: of the 6 planned rounds, 3 run.
    const target = (epsilonAfter(3) + epsilonAfter(4)) / 2;
    const exp = await smallExperiment({
      rounds: 6,
      autoStart: false,
      quorum: 1,
      clientsPerRound: { fraction: 0.5, min: 1, max: 20 },
      privacy: { clipNorm: 0.5, noiseMultiplier: 1.5, targetEpsilon: target, delta: 1e-5 },
    });
    const t = await startTestAggregator(exp);
    open.push(t);
    const before = await getStatus(t);
    expect(before.privacy).toMatchObject({ secureAggregation: false, epsilon: 0, delta: 1e-5, rounds: 0 });

    const clients = await Promise.all(
      exp.shards(3, { kind: 'iid' }).map((s, i) => testClient(t, s, `p${i}`)),
    );
    const runs = clients.map((c) => c.run());
    await waitFor(() => t.agg.coordinator.status(null).clientCounts.total === 3, 30_000, 'three clients');
    await waitFor(
      () => t.agg.coordinator.status(null).clientList.every((c) => c.numSamples > 0),
      30_000,
      'three ready clients',
    );
    t.agg.coordinator.start();
    await Promise.all(runs);
    await waitFor(() => t.agg.coordinator.status(null).phase === 'finished', 30_000, 'the end of the run');

    const s = await getStatus(t);
    // Three rounds ran, each with 2 of the 3 clients, and ε after each is the accountant's for q = 2/3.
    expect(s.history.map((h) => h.outcome)).toEqual(['aggregated', 'aggregated', 'aggregated']);
    expect(s.history.map((h) => h.selected.length)).toEqual([2, 2, 2]);
    const eps = s.history.map((h) => h.epsilon);
    eps.forEach((e, i) => {
      expect(e, `round ${i + 1}`).toBeCloseTo(epsilonAfter(i + 1), 10);
    });
    for (let i = 1; i < eps.length; i++) expect(eps[i]!).toBeGreaterThan(eps[i - 1]!);
    expect(s.privacy).toMatchObject({
      secureAggregation: false,
      delta: 1e-5,
      targetEpsilon: target,
      noiseMultiplier: 1.5,
      clipNorm: 0.5,
      rounds: 3,
    });
    expect(s.privacy.epsilon).toBe(eps[2]);
    expect(s.privacy.epsilon!).toBeLessThanOrEqual(target);
    expect(s.rounds).toBe(3); // the planned 6 were cut at the budget
    expect(s.privacy).toHaveProperty(
      'stopped',
      expect.stringMatching(/round 4 would take ε from .* above the target/),
    );
    expect(t.logs.some((l) => /privacy budget: round 4 would take ε/.test(l))).toBe(true);
    for (const c of clients) c.stop();

    // Restart on the same data directory: the same ε, rounds charged and stop.
    await t.agg.close();
    open.pop();
    const again = await startTestAggregator(exp, t.dataDir);
    open.push(again);
    const r = await getStatus(again);
    expect(r.round).toBe(3);
    expect(r.privacy).toEqual(expect.objectContaining({ epsilon: s.privacy.epsilon, rounds: 3 }));
    expect(r.privacy).toHaveProperty('stopped', (s.privacy as { stopped: string }).stopped);
  }, 180_000);

  it('pqfed serve takes --dp-clip, --target-epsilon and --delta over the file and shows them in /api/status', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pqfed-dp-serve-'));
    const config = join(dir, 'experiment.json');
    writeFileSync(
      config,
      JSON.stringify({
        maxTrainRows: 2000,
        maxTestRows: 200,
        autoStart: false,
        privacy: { clipNorm: 3, delta: 1e-7 },
      }),
    );
    const child = spawn(
      process.execPath,
      [
        new URL('../bin/pqfed.js', import.meta.url).pathname,
        'serve',
        '--port',
        '0',
        '--host',
        '127.0.0.1',
        '--data-dir',
        join(dir, 'data'),
        '--config',
        config,
        '--dp-clip',
        '0.7',
        '--target-epsilon',
        '4',
        '--delta',
        '1e-6',
        '--json',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, PQFED_ADMIN_TOKEN: 'test-admin-token-0123' },
      },
    );
    try {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const info = await new Promise<{ url: string }>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`serve did not start in 60 s:\n${err}`)), 60_000);
        child.stdout.once('data', (d: Buffer) => {
          clearTimeout(timer);
          ok(JSON.parse(d.toString()));
        });
      });
      const status = (await (await fetch(new URL('/api/status', info.url))).json()) as {
        privacy: Record<string, unknown>;
      };
      expect(status.privacy).toMatchObject({
        secureAggregation: false,
        mechanism: 'gaussian',
        epsilon: 0,
        delta: 1e-6,
        targetEpsilon: 4,
        clipNorm: 0.7,
        noiseMultiplier: null, // calibrated at the first round
        rounds: 0,
        stopped: null,
      });
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('carries the clip norm in the round frame, and refuses a bad one', () => {
    const frame = (clipNorm: number) =>
      encodeFrame({
        type: 'round',
        round: 1,
        version: 0,
        deadlineMs: 1000,
        fit: { epochs: 1, batchSize: 8, learningRate: 0.01, proxMu: 0, seed: 1, clipNorm },
        seal: {
          suite: 'xwing',
          publicKey: new Uint8Array(32),
          keySignature: new Uint8Array(64),
          modelSignature: new Uint8Array(64),
        },
        weights: new Float32Array(4),
      });
    const opts = { maxFrameBytes: 1 << 20, modelSize: 4 };
    const ok = decodeServerFrame(frame(0.25), opts);
    expect(ok.type === 'round' && ok.fit.clipNorm).toBe(0.25);
    expect(() => decodeServerFrame(frame(-1), opts)).toThrow(ProtocolError);
  });
});
