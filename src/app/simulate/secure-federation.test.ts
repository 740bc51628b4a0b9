/**
 * The in-tab federation with secure aggregation: the aggregator side (federation.ts) runs every round
 * through the round core's SecureRound (secure-federation.ts) with real FederatedClients over MessagePorts,
 * real cryptography; the strategy gets only the sum.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FederatedClient, type LocalTrainer } from '../../client/client.ts';
import type { FitSettings } from '../../core/protocol.ts';
import { generateIdentity } from '../../crypto/identity.ts';
import { pqClientChannels } from '../../crypto/pq-channels.ts';
import type { EncodedData } from '../../data/features.ts';
import {
  type Evaluation,
  type FederationEnv,
  type FederationEvent,
  type RunPlan,
  runConfiguration,
} from './federation.ts';
import { optionsFromQuery, queryFor } from './options.ts';
import { PortPeer, portConnector } from './port-socket.ts';
import { secureProblem } from './secure-federation.ts';

const MODEL_SIZE = 6;

/** Client k's delta is k+1 everywhere (inside the clip bound 4), so FedAvg is easy to predict. */
class FakeTrainer implements LocalTrainer {
  readonly backend = 'fake';
  constructor(
    private readonly k: number,
    readonly numSamples: number,
  ) {}
  async prepare(): Promise<void> {}
  async fit(_global: Float32Array, _fit: FitSettings, round: number) {
    return {
      delta: new Float32Array(MODEL_SIZE).fill(this.k + 1),
      metrics: { loss: 1 / round, seconds: 0.01, samplesPerSec: 100 },
    };
  }
}

const shard = (n: number): EncodedData => ({
  n,
  numeric: new Float32Array(n),
  categorical: new Int32Array(0),
  label: new Int32Array(n),
  mos: new Float32Array(n),
});

const running: FederatedClient[] = [];
afterEach(() => {
  for (const c of running.splice(0)) c.stop();
});

function env(evaluated: Float32Array[]): FederationEnv {
  return {
    identity: generateIdentity(),
    suite: 'xwing',
    experiment: { dataset: 'toniot', model: {}, preprocessor: {}, modelSize: MODEL_SIZE },
    initialWeights: new Float32Array(MODEL_SIZE),
    async evaluate(weights): Promise<Evaluation> {
      evaluated.push(weights.slice());
      return {
        accuracy: 0.5,
        macroF1: 0.25,
        mosMAE: 0.1,
        loss: 1,
        perClassRecall: {},
        majorityBaseline: { accuracy: 0.4, macroF1: 0.06 },
      };
    },
    async connect(index, data, serverFingerprint) {
      const { port1, port2 } = new MessageChannel();
      const client: FederatedClient = new FederatedClient({
        url: `in-tab://client-${index}`,
        name: `test-${index}`,
        trainer: new FakeTrainer(index, data.n),
        channels: pqClientChannels({ identity: generateIdentity(), pinnedFingerprint: serverFingerprint }),
        connect: portConnector(port2 as never, () => client.stop()),
      });
      running.push(client);
      void client.run();
      return new PortPeer(port1 as never);
    },
    slots: 2,
  };
}

const plan = (o: Partial<RunPlan> = {}): RunPlan => ({
  rounds: 2,
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  seed: 1,
  proxMu: 0.01,
  tamper: null,
  privacy: null,
  secure: { clip: 4, dropoutFraction: 0.2 },
  ...o,
});

describe('in-tab federation with secure aggregation', () => {
  it('runs FedAvg rounds on the recovered sum of every client', { timeout: 60_000 }, async () => {
    const evaluated: Float32Array[] = [];
    const events: FederationEvent[] = [];
    const rounds = await runConfiguration(
      env(evaluated),
      plan(),
      { strategy: 'fedavg', partition: { kind: 'iid' } },
      [shard(10), shard(30), shard(60)],
      (e) => events.push(e),
      new AbortController().signal,
    );
    expect(rounds.map((r) => [r.round, r.selected, r.participants, r.outcome])).toEqual([
      [1, 3, 3, 'aggregated'],
      [2, 3, 3, 'aggregated'],
    ]);
    // (10·1 + 30·2 + 60·3) / 100 = 2.5 per round, within the ring's error bound (W = 60, C = 4, n = 3).
    const bound = 3 / (2 * ((2 ** 31 - 1 - 3) / (3 * 60 * 4)) * 100);
    for (let j = 0; j < MODEL_SIZE; j++) {
      expect(Math.abs(evaluated[0]![j]! - 2.5)).toBeLessThanOrEqual(bound + 1e-6);
      expect(Math.abs(evaluated[1]![j]! - 5)).toBeLessThanOrEqual(2 * bound + 1e-6);
    }
    // No local loss crosses in the clear.
    expect(rounds.map((r) => r.meanLocalLoss)).toEqual([null, null]);
    expect(rounds.flatMap((r) => r.refused)).toEqual([]);
    expect(events.filter((e) => e.kind === 'update' && e.accepted)).toHaveLength(6);
  });

  it('refuses a strategy that needs single updates and too few clients', async () => {
    expect(secureProblem('median', 5)).toMatch(/compares single client updates/);
    expect(secureProblem('fedavg', 2)).toMatch(/at least 3 clients/);
    expect(secureProblem('fedadam', 3)).toBeNull();
    await expect(
      runConfiguration(
        env([]),
        plan(),
        { strategy: 'krum', partition: { kind: 'iid' } },
        [shard(10), shard(10), shard(10)],
        () => {},
        new AbortController().signal,
      ),
    ).rejects.toThrow(/secure aggregation: krum compares single client updates/);
  });

  it('is the URL option secagg=1, which refuses robust strategies and too few clients, and takes DP', () => {
    const on = optionsFromQuery(new URLSearchParams('secagg=1'));
    expect(on.errors).toEqual([]);
    expect(on.options.secureAggregation).toBe(true);
    expect(queryFor(on.options)).toBe('?secagg=1');
    expect(optionsFromQuery(new URLSearchParams('')).options.secureAggregation).toBe(false);
    const bad = optionsFromQuery(new URLSearchParams('secagg=1&configs=median:iid&clients=2'));
    expect(bad.errors.join('\n')).toMatch(/median compares single client updates/);
    expect(bad.errors.join('\n')).toMatch(/at least 3 clients, got 2/);
    const dp = optionsFromQuery(new URLSearchParams('secagg=1&dp-clip=1&dp-noise=1'));
    // DP with secure aggregation: the clients add the noise (secure-privacy-federation.test.ts).
    expect(dp.errors).toEqual([]);
    expect(dp.options).toMatchObject({
      secureAggregation: true,
      privacy: { clipNorm: 1, noiseMultiplier: 1 },
    });
  });
});
