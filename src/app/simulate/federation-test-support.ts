/**
 * The in-tab federation's test harness (for federation.test.ts, secure-federation.test.ts and
 * secure-privacy-federation.test.ts; not part of the app): a FederationEnv whose clients are real
 * FederatedClients over MessagePorts with real cryptography, training with a fake trainer (no tfjs), and a
 * fixed evaluation that records the weights it was given.
 * @module
 */
import { FederatedClient, type LocalTrainer } from '../../client/client.ts';
import type { RandomSource } from '../../core/privacy/random-source.ts';
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
import type { ConfigSpec } from './options.ts';
import { PortPeer, portConnector } from './port-socket.ts';

/** A trainer without tfjs: client k's delta is `value(k)` on every coordinate; it records every fit. */
export class FakeTrainer implements LocalTrainer {
  readonly backend = 'fake';
  readonly fits: { round: number; fit: FitSettings }[] = [];
  constructor(
    private readonly k: number,
    readonly numSamples: number,
    private readonly modelSize: number,
    private readonly value: (k: number) => number,
  ) {}
  async prepare(): Promise<void> {}
  async fit(_global: Float32Array, fit: FitSettings, round: number) {
    this.fits.push({ round, fit });
    return {
      delta: new Float32Array(this.modelSize).fill(this.value(this.k)),
      metrics: { loss: 1 / round, seconds: 0.01, samplesPerSec: 100 },
    };
  }
}

/** A client's data of `n` samples (all zero: the fake trainer does not read it). */
export const shard = (n: number): EncodedData => ({
  n,
  numeric: new Float32Array(n),
  categorical: new Int32Array(0),
  label: new Int32Array(n),
  mos: new Float32Array(n),
});

/** A run plan: 2 rounds, one local epoch, no tampering, no privacy, unless `o` says otherwise. */
export const runPlan = (o: Partial<RunPlan> = {}): RunPlan => ({
  rounds: 2,
  localEpochs: 1,
  batchSize: 32,
  learningRate: 0.01,
  seed: 1,
  proxMu: 0.01,
  tamper: null,
  privacy: null,
  ...o,
});

/** What every evaluation returns. */
export const EVALUATION: Evaluation = {
  accuracy: 0.5,
  macroF1: 0.25,
  mosMAE: 0.1,
  loss: 1,
  perClassRecall: { normal: 0.9, ddos: 0.1 },
  majorityBaseline: { class: 'normal', accuracy: 0.4, macroF1: 0.06 },
};

export interface HarnessOptions {
  modelSize: number;
  /** Client k's delta, on every coordinate (default k + 1). */
  delta?: (k: number) => number;
  /** Client slots (default 2). */
  slots?: number;
  /** Client k's source for its secure-aggregation noise shares (default: the client's own). */
  noiseRandom?: (k: number) => RandomSource;
}

/** How `run` runs a configuration: FedAvg on IID shards of 10, 30 and 60 samples unless told otherwise. */
export interface RunSetup {
  spec?: ConfigSpec;
  /** Each client's sample count. */
  samples?: readonly number[];
  slots?: number;
  /** Called with every event (after it is recorded). */
  onEvent?: (e: FederationEvent) => void;
  signal?: AbortSignal;
}

/**
 * The harness: `env` builds a FederationEnv that pushes each evaluated model onto `evaluated`, puts client
 * k's trainer at `trainers[k]` and runs the clients in `slots` slots; `run` runs a plan in one; `stopAll`
 * stops every client started so far (call it after each test).
 */
export function inTabHarness(options: HarnessOptions) {
  const { modelSize, delta = (k) => k + 1, noiseRandom } = options;
  const running: FederatedClient[] = [];
  function env(
    evaluated: Float32Array[],
    trainers: FakeTrainer[] = [],
    slots = options.slots ?? 2,
  ): FederationEnv {
    return {
      identity: generateIdentity(),
      suite: 'xwing',
      experiment: { dataset: 'toniot', model: {}, preprocessor: {}, modelSize },
      initialWeights: new Float32Array(modelSize),
      async evaluate(weights): Promise<Evaluation> {
        evaluated.push(weights.slice());
        return structuredClone(EVALUATION);
      },
      async connect(index, data, serverFingerprint) {
        const { port1, port2 } = new MessageChannel();
        const trainer = new FakeTrainer(index, data.n, modelSize, delta);
        trainers[index] = trainer;
        const client: FederatedClient = new FederatedClient({
          url: `in-tab://client-${index}`,
          name: `test-${index}`,
          trainer,
          channels: pqClientChannels({ identity: generateIdentity(), pinnedFingerprint: serverFingerprint }),
          connect: portConnector(port2 as never, () => client.stop()),
          ...(noiseRandom && { noiseRandom: noiseRandom(index) }),
        });
        running.push(client);
        void client.run();
        return new PortPeer(port1 as never);
      },
      slots,
    };
  }
  return {
    env,
    /** Runs `plan` through runConfiguration in a fresh env: its rounds, and what it evaluated, trained and said. */
    async run(plan: RunPlan, setup: RunSetup = {}) {
      const evaluated: Float32Array[] = [];
      const trainers: FakeTrainer[] = [];
      const events: FederationEvent[] = [];
      const rounds = await runConfiguration(
        env(evaluated, trainers, setup.slots),
        plan,
        setup.spec ?? { strategy: 'fedavg', partition: { kind: 'iid' } },
        (setup.samples ?? [10, 30, 60]).map((n) => shard(n)),
        (e) => {
          events.push(e);
          setup.onEvent?.(e);
        },
        setup.signal ?? new AbortController().signal,
      );
      return { rounds, evaluated, trainers, events };
    },
    stopAll(): void {
      for (const c of running.splice(0)) c.stop();
    },
  };
}
