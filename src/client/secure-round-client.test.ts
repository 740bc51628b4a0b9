/**
 * The client's part of a secure round (secure-round-client.ts) against the round core's SecureRound, in
 * process with real cryptography: the update goes in masked, capped at the round's weight cap W; with a
 * noise variance from the round frame, each client adds its integer Skellam share before masking, so the
 * recovered sum carries the noise of every client (variance n·V in ring units) while Σ nᵢ stays exact.
 */
import { describe, expect, it } from 'vitest';
import { seededRandomSource } from '../core/privacy/random-source.ts';
import { type RoundTimers, SecureRound, type SecureRoundOutcome } from '../core/round/secure-round.ts';
import type { ClientUpdate } from '../core/strategies/strategy.ts';
import { toHex } from '../crypto/bytes.ts';
import { generateIdentity } from '../crypto/identity.ts';
import { SecureRoundClient } from './secure-round-client.ts';

const SESSION = new Uint8Array(16).fill(9);
const D = 4000;
const RING = { clip: 1, maxWeight: 100 };

/** Timers that never fire: every phase closes because everyone answered. */
const NO_TIMERS: RoundTimers = { set: () => 0, clear: () => {} };

async function run(noiseVariance: number | undefined, samples: number[]) {
  const ids = samples.map((_, i) => `c-${i}`);
  const identities = ids.map(() => generateIdentity());
  const updates = samples.map((_, i) => Float32Array.from({ length: D }, (_, j) => Math.sin(i * 7 + j) / 20));
  const outcomes: SecureRoundOutcome[] = [];
  const added: ClientUpdate[] = [];
  const queue: { to: string; bytes: Uint8Array }[] = [];
  const round = new SecureRound({
    session: SESSION,
    round: 3,
    vectorLength: D,
    ring: RING,
    members: ids,
    identityOf: (id) => identities[ids.indexOf(id)]!.publicKey,
    timers: NO_TIMERS,
    deadlines: { advertiseMs: 1, shareMs: 1, inputMs: 1, closingMs: 1 },
    send: (to, bytes) => queue.push({ to, bytes }),
    onEnd: (o) => outcomes.push(o),
    aggregator: { add: (u) => added.push(u) },
  });
  const logs: string[] = [];
  const clients = ids.map(
    (id, i) =>
      new SecureRoundClient({
        clientId: id,
        identity: identities[i]!,
        session: toHex(SESSION),
        round: 3,
        noiseVariance,
        send: async (payload) => {
          const took = round.receive(id, payload);
          if (!took.accepted) throw new Error(took.message);
        },
        log: (l) => logs.push(l),
        random: seededRandomSource(new Uint8Array(32).fill(i + 1)),
      }),
  );
  round.start();
  // Inputs first (training ended before the config arrived): held until the round's weight cap is known.
  await Promise.all(clients.map((c, i) => c.setInput(updates[i]!, samples[i]!)));
  while (queue.length) {
    const { to, bytes } = queue.shift()!;
    await clients[ids.indexOf(to)]!.receive(bytes);
  }
  expect(logs).toEqual([]);
  const o = outcomes[0]!;
  if (!o.ok) throw new Error(`round failed: ${o.message}`);
  return { result: o.result, updates, added };
}

describe('SecureRoundClient', () => {
  it('sends its update masked with its weight capped at W; the sum is exact within the bound', async () => {
    const { result, updates } = await run(undefined, [30, 100, 250]);
    // 250 > W = 100: the third client declares 100.
    expect(result.totalWeight).toBe(30 + 100 + 100);
    const w = [30, 100, 100];
    for (let j = 0; j < D; j++) {
      const want = w.reduce((s, n, i) => s + n * updates[i]![j]!, 0);
      expect(Math.abs(result.weightedSum[j]! - want)).toBeLessThanOrEqual(3 / (2 * result.scale) + 1e-9);
    }
  });

  it('adds its Skellam noise share (round.secagg.noiseVariance) before masking; Σ nᵢ stays exact', async () => {
    const V = 250_000; // ring units²: std 500 units per client
    const { result, updates } = await run(V, [40, 60, 80]);
    expect(result.totalWeight).toBe(180);
    let sum = 0;
    let sq = 0;
    for (let j = 0; j < D; j++) {
      const plain = [40, 60, 80].reduce((s, n, i) => s + n * updates[i]![j]!, 0);
      const noise = (result.weightedSum[j]! - plain) * result.scale; // back in ring units
      sum += noise;
      sq += noise * noise;
    }
    const mean = sum / D;
    const variance = sq / D - mean * mean;
    // Three shares of variance V: 3V, within 10 % over 4,000 elements; mean ≈ 0.
    expect(variance / (3 * V)).toBeGreaterThan(0.9);
    expect(variance / (3 * V)).toBeLessThan(1.1);
    expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt((3 * V) / D));
  });
});
