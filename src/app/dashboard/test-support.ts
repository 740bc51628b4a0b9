/** A small status for the dashboard's unit tests: three rounds, three clients, one who left. */
import type { RoundJson, StatusJson } from './status.ts';

export function round(r: number, over: Partial<RoundJson> = {}): RoundJson {
  return {
    round: r,
    participants: 2,
    accuracy: 0.5 + r / 10,
    macroF1: 0.2 + r / 10,
    mosMAE: 0.3 / r,
    loss: 2 / r,
    bytesUp: 1000 * r,
    bytesDown: 2000 * r,
    seconds: 1.5,
    outcome: 'aggregated',
    selected: ['c-a', 'c-b'],
    contributed: ['c-a', 'c-b'],
    failed: [],
    clientMetrics: [
      { clientId: 'c-a', loss: 1 / r, numSamples: 100, seconds: 1, samplesPerSec: 100 },
      { clientId: 'c-b', loss: 1.5 / r, numSamples: 200, seconds: 1, samplesPerSec: 200 },
    ],
    perClassRecall: { normal: 0.9, scanning: 0.4 },
    majorityBaseline: { accuracy: 0.25, macroF1: 0.04 },
    strategy: 'fedavg',
    cryptoSeconds: 0.01 * r,
    ...over,
  };
}

export function status(over: Partial<StatusJson> = {}): StatusJson {
  return {
    session: 'ab12cd34ef56ab12cd34ef56ab12cd34',
    round: 3,
    phase: 'waiting',
    clients: 2,
    strategy: 'fedavg',
    serverKeyFingerprint: 'abcd-efgh-ijkl',
    rounds: 10,
    currentRound: null,
    clientList: [
      { id: 'c-b', name: 'Bea', backend: 'wasm', state: 'idle', numSamples: 200, rounds: 3, lastLoss: 0.5 },
      { id: 'c-c', name: 'Cem', backend: 'webgpu', state: 'idle', numSamples: 50, rounds: 0, lastLoss: null },
    ],
    refusals: {},
    evaluation: null,
    config: { rounds: 10, clientsPerRound: { fraction: 1, min: 2, max: 10 }, dataset: 'toniot' },
    history: [
      round(1),
      round(2, {
        outcome: 'closed',
        participants: 0,
        selected: ['c-a', 'c-b'],
        contributed: [],
        failed: [{ clientId: 'c-a', reason: 'missed the deadline' }],
        clientMetrics: [{ clientId: 'c-b', loss: 0.8, numSamples: 200, seconds: 1, samplesPerSec: 200 }],
        accuracy: null,
        macroF1: null,
      }),
      round(3),
    ],
    ...over,
  };
}
