/**
 * A round that misses its quorum by the deadline is closed unchanged or retried with a new selection, as
 * configured — never left hanging. Raw clients over real sockets; one answers, one hangs.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RoundRecord } from '../src/aggregator/checkpoint.ts';
import { encodeFrame } from '../src/core/protocol.ts';
import {
  answerRound,
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

function updateFrame(round: number, delta: Float32Array): Uint8Array {
  return encodeFrame({
    type: 'update',
    round,
    baseVersion: 0,
    numSamples: 50,
    metrics: { loss: 1, seconds: 1, samplesPerSec: 1 },
    delta,
  });
}

const QUORUM = {
  quorum: 2,
  roundDeadlineSeconds: 1.5,
  clientsPerRound: { fraction: 1, min: 2, max: 2 },
  rounds: 3,
};

describe('quorum missed at the deadline', () => {
  it('closes the round and keeps the model when configured to close', async () => {
    t = await startTestAggregator(await smallExperiment({ ...QUORUM, onQuorumMiss: 'close' }));
    const before = t.agg.coordinator.globalWeights();
    const ended: RoundRecord[] = [];
    t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
    const { a, b, size } = await twoClients(t);
    const round1 = await a.nextOf('round');
    await a.sendUpdate(round1, updateFrame(1, new Float32Array(size).fill(0.001)));
    await b.nextOf('round'); // b hangs
    await waitFor(() => ended.length === 1, 10_000, 'round 1 to close');
    expect(ended[0]!.outcome).toBe('closed');
    expect(ended[0]!.participants).toBe(0);
    expect(ended[0]!.failed).toEqual([{ clientId: expect.any(String), reason: 'missed the deadline' }]);
    expect(t.agg.coordinator.modelVersion).toBe(0);
    expect(Buffer.from(t.agg.coordinator.globalWeights().buffer).equals(Buffer.from(before.buffer))).toBe(
      true,
    );
    // The next round opens with the unchanged model; a late update for round 1 is refused as stale.
    await a.sendUpdate(round1, updateFrame(1, new Float32Array(size)));
    const refused = await a.nextOf('refused');
    expect(refused.reason).toBe('stale');
    expect(t.agg.coordinator.refusals.stale).toBe(1);
    a.ws.terminate();
    b.ws.terminate();
  }, 30_000);

  it('retries the round with a new selection when configured to retry', async () => {
    t = await startTestAggregator(await smallExperiment({ ...QUORUM, onQuorumMiss: 'retry' }));
    const retries: number[] = [];
    t.agg.coordinator.on('round-retry', (r: { round: number }) => retries.push(r.round));
    const ended: RoundRecord[] = [];
    t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
    const { a, b, size } = await twoClients(t);
    expect(await answerRound(a, size)).toBe(1);
    await b.nextOf('round');
    await waitFor(() => retries.length === 1, 10_000, 'the retry');
    expect(retries).toEqual([1]);
    expect(ended).toHaveLength(0);
    // Round 1 again: both answer this time, and it is aggregated.
    const [ra, rb] = await Promise.all([answerRound(a, size), answerRound(b, size)]);
    expect([ra, rb]).toEqual([1, 1]);
    await waitFor(() => ended.length === 1, 20_000, 'round 1 to be aggregated');
    expect(ended[0]!.outcome).toBe('aggregated');
    expect(ended[0]!.participants).toBe(2);
    expect(t.agg.coordinator.modelVersion).toBe(1);
    a.ws.terminate();
    b.ws.terminate();
  }, 30_000);
});
