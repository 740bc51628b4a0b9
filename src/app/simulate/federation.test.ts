import { afterEach, describe, expect, it } from 'vitest';
import { crossProblems, DEFAULT_EXPERIMENT } from '../../aggregator/config.ts';
import { RdpAccountant } from '../../core/privacy/accountant.ts';
import type { PrivacySettings } from '../../core/privacy/ledger.ts';
import { bySlot, flipSealedByte, refusalReason } from './federation.ts';
import { inTabHarness, runPlan } from './federation-test-support.ts';
import { StoppedError } from './port-socket.ts';

const MODEL_SIZE = 6;

const harness = inTabHarness({ modelSize: MODEL_SIZE });
afterEach(harness.stopAll);

const plan = runPlan;

describe('in-tab federation (aggregator side, real cryptography, in-process clients)', () => {
  it('runs R rounds of FedAvg over the handshake and sealed envelopes', async () => {
    const { rounds, evaluated, trainers, events } = await harness.run(plan());
    expect(rounds.map((r) => [r.round, r.selected, r.participants, r.outcome])).toEqual([
      [1, 3, 3, 'aggregated'],
      [2, 3, 3, 'aggregated'],
    ]);
    // FedAvg weighs by samples: (10·1 + 30·2 + 60·3) / 100 = 2.5 per round.
    expect(Array.from(evaluated[0]!)).toEqual(new Array(MODEL_SIZE).fill(2.5));
    expect(Array.from(evaluated[1]!)).toEqual(new Array(MODEL_SIZE).fill(5));
    expect(rounds[1]!.accuracy).toBe(0.5);
    expect(rounds[1]!.macroF1).toBe(0.25);
    expect(rounds[1]!.perClassRecall).toEqual({ normal: 0.9, ddos: 0.1 });
    expect(rounds[0]!.refused).toEqual([]);
    expect(rounds[0]!.meanLocalLoss).toBe(1);
    expect(rounds[0]!.bytesUp).toBeGreaterThan(3 * MODEL_SIZE * 4);
    expect(rounds[0]!.bytesDown).toBeGreaterThan(3 * MODEL_SIZE * 4);
    expect(rounds[0]!.cryptoSeconds).toBeGreaterThan(0);
    // Every client trained every round, with the round's fit settings (cosine decay of the rate).
    for (const t of trainers) expect(t.fits.map((f) => f.round)).toEqual([1, 2]);
    expect(trainers[0]!.fits[1]!.fit.learningRate).toBeCloseTo(0.0005);
    expect(events.filter((e) => e.kind === 'update' && e.accepted)).toHaveLength(6);
    expect(events.at(-1)).toMatchObject({ kind: 'round-end' });
  });

  it('refuses a tampered envelope: that round aggregates the others only', async () => {
    const { rounds, evaluated } = await harness.run(plan({ rounds: 3, tamper: { round: 2, client: 1 } }), {
      spec: { strategy: 'median', partition: { kind: 'dirichlet', alpha: 0.5 } },
      samples: [5, 5, 5, 5],
    });
    expect(rounds.map((r) => r.participants)).toEqual([4, 3, 4]);
    expect(rounds[1]!.refused).toHaveLength(1);
    expect(rounds[1]!.refused[0]).toMatchObject({ client: 'sim-2', reason: 'tampered' });
    // Median of the three others (1, 3, 4) is 3: client 2's delta never reached the aggregate.
    expect(evaluated[1]![0]! - evaluated[0]![0]!).toBe(3);
  });

  it('closes a round with no valid update unchanged, and stops when asked', async () => {
    const { rounds, evaluated } = await harness.run(plan({ rounds: 2, tamper: { round: 1, client: 0 } }), {
      samples: [4],
      slots: 1,
    });
    expect(rounds.map((r) => [r.participants, r.outcome, r.accuracy, r.perClassRecall])).toEqual([
      [0, 'closed', null, null],
      [1, 'aggregated', 0.5, { normal: 0.9, ddos: 0.1 }],
    ]);
    // Round 2 still trained from the initial model (version 0).
    expect(Array.from(evaluated[0]!)).toEqual(new Array(MODEL_SIZE).fill(1));

    const stop = new AbortController();
    const run = harness.run(plan({ rounds: 5 }), {
      samples: [4, 4],
      onEvent: (e) => {
        if (e.kind === 'round-end' && e.result.round === 1) stop.abort();
      },
      signal: stop.signal,
    });
    await expect(run).rejects.toBeInstanceOf(StoppedError);
  });
});

describe('in-tab federation with the server optimisers (state across rounds)', () => {
  // Every round the weighted mean delta is 2.5 (see the FedAvg test). FedAvgM at η = 1, β = 0.9:
  //   m1 = 2.5 → w1 = 2.5;  m2 = 0.9·2.5 + 2.5 = 4.75 → w2 = 7.25 (FedAvg would give 5).
  // FedYogi at its defaults, round 1: m1 = 0.1·2.5 = 0.25, v1 = 0.01·6.25 = 0.0625, √v1 = 0.25
  //   → w1 = 0.01·0.25 / 0.251 = 0.0099601594.
  // FedAdagrad at its defaults, round 1: m1 = 0.25, v1 = 6.25, √v1 = 2.5 → w1 = 0.1·0.25 / 2.501 = 0.0099960016.
  it.each([
    ['fedavgm', [2.5, 7.25]],
    ['fedyogi', [0.0099601594]],
    ['fedadagrad', [0.0099960016]],
    // FedDyn at α = 0.01, unweighted: ΣΔ = 1 + 2 + 3 = 6 over 3 clients, m = 3.
    //   h1 = −0.01·6/3 = −0.02 → w1 = 0 + 2 − h1/α = 4;  h2 = −0.04 → w2 = 4 + 2 + 4 = 10.
    ['feddyn', [4, 10]],
  ] as const)('%s carries its server state from round to round', async (strategy, expected) => {
    const { rounds, evaluated, trainers } = await harness.run(plan(), {
      spec: { strategy, partition: { kind: 'iid' } },
    });
    expect(rounds.map((r) => r.outcome)).toEqual(['aggregated', 'aggregated']);
    expected.forEach((x, i) => {
      for (const w of evaluated[i]!) expect(w).toBeCloseTo(x, 6);
    });
    // Only FedDyn sends its α to the clients.
    for (const t of trainers) {
      expect(t.fits.map((f) => f.fit.dynAlpha)).toEqual(
        strategy === 'feddyn' ? [0.01, 0.01] : [undefined, undefined],
      );
    }
  });
});

describe("in-tab federation with client-level DP (the aggregator's PrivacyLedger)", () => {
  const dp = (o: Partial<PrivacySettings> = {}): PrivacySettings => ({
    clipNorm: 1,
    noiseMultiplier: 1,
    targetEpsilon: null,
    delta: 1e-5,
    adaptiveClipping: null,
    ...o,
  });
  /** ε after `rounds` rounds with every client selected (q = 1) at noise z, as the accountant gives it. */
  const epsilonAfter = (rounds: number, z: number, delta = 1e-5) => {
    const a = new RdpAccountant();
    a.compose(1, z, rounds);
    return a.epsilon(delta);
  };

  it('sends the clip norm, reports ε after every round, growing, equal to the accountant', async () => {
    const { rounds, trainers } = await harness.run(
      plan({ rounds: 3, privacy: dp({ noiseMultiplier: 1.2 }) }),
    );
    const eps = rounds.map((r) => r.epsilon);
    expect(eps).toHaveLength(3);
    eps.forEach((e, i) => {
      expect(e).toBeCloseTo(epsilonAfter(i + 1, 1.2), 9);
    });
    expect(eps[0]!).toBeLessThan(eps[1]!);
    expect(eps[1]!).toBeLessThan(eps[2]!);
    for (const t of trainers) expect(t.fits.map((f) => f.fit.clipNorm)).toEqual([1, 1, 1]);
  });

  it('aggregates the clipped updates through the ledger (no noise: the plain mean of clipped deltas)', async () => {
    const { rounds, evaluated } = await harness.run(plan({ rounds: 1, privacy: dp({ noiseMultiplier: 0 }) }));
    // Every delta (k+1 on 6 coordinates) is clipped to norm 1: 1/√6 each, unweighted mean 1/√6; without
    // noise there is no finite ε.
    for (const w of evaluated[0]!) expect(w).toBeCloseTo(1 / Math.sqrt(MODEL_SIZE), 5);
    expect(rounds[0]!.epsilon).toBeNull();
  });

  it('stops before the round that would cross the target ε, and says why', async () => {
    const target = (epsilonAfter(2, 1) + epsilonAfter(3, 1)) / 2;
    const { rounds, events } = await harness.run(
      plan({ rounds: 5, privacy: dp({ targetEpsilon: target }) }),
      { samples: [10, 10] },
    );
    expect(rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(rounds[1]!.epsilon!).toBeLessThanOrEqual(target);
    const stop = events.find((e) => e.kind === 'budget-stop');
    expect(stop).toMatchObject({ round: 3 });
    expect(stop && 'reason' in stop && stop.reason).toMatch(
      /^privacy budget: round 3 would take ε from [\d.]+ to [\d.]+ at δ = 0.00001, above the target ε/,
    );
    expect(events.filter((e) => e.kind === 'round-start')).toHaveLength(2);
  });

  it.each([
    'median',
    'trimmed-mean',
    'krum',
    'multi-krum',
    'feddyn',
  ] as const)("refuses %s with privacy, with the aggregator config check's message", async (strategy) => {
    const check = crossProblems({
      ...DEFAULT_EXPERIMENT,
      strategy,
      privacy: { clipNorm: 1, noiseMultiplier: 1 },
    }).find((p) => p.path[0] === 'strategy');
    expect(check).toBeDefined();
    await expect(
      harness.run(plan({ privacy: dp() }), {
        spec: { strategy, partition: { kind: 'iid' } },
        samples: [4, 4],
      }),
    ).rejects.toThrow(`"strategy" ${check!.message}`);
  });
});

describe('helpers', () => {
  it('flips a byte the AEAD catches, and maps crypto reasons as the coordinator does', () => {
    expect(refusalReason({ reason: 'stale-round' })).toBe('stale');
    expect(refusalReason({ reason: 'tampered' })).toBe('tampered');
    expect(refusalReason(new Error('x'))).toBe('malformed');
    expect(() => flipSealedByte(new Uint8Array(10), 100)).toThrow();
  });

  it('runs at most one task per slot at a time', async () => {
    let now = 0;
    let peak = 0;
    const order: number[] = [];
    await bySlot(
      Array.from({ length: 7 }, (_, index) => ({ index })),
      3,
      async (c) => {
        now++;
        peak = Math.max(peak, now);
        await new Promise((ok) => setTimeout(ok, 5));
        order.push(c.index);
        now--;
      },
    );
    expect(peak).toBe(3);
    expect(order.slice().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Within a slot, in client order.
    expect(order.indexOf(0)).toBeLessThan(order.indexOf(3));
    expect(order.indexOf(3)).toBeLessThan(order.indexOf(6));
  });
});
