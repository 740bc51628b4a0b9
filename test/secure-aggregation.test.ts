/**
 * Secure aggregation (SecAgg+, docs/secure-aggregation.md) in real federated rounds: a real aggregator
 * (real WebSockets on 127.0.0.1, the post-quantum channel, real evaluation) and raw clients that run real
 * SecAggClients (ML-KEM-768, ML-DSA-65 with the identity their connection proved) and leave at chosen
 * phases by closing their sockets. The acceptance:
 * - everything the aggregator receives in a secure round reveals no single update (each masked vector is
 *   uncorrelated with its client's update) and the recovered sum is the plain FedAvg sum within the ring's
 *   error bound;
 * - 10 clients, 1 leaving before its masked input and 3 after: the exact sum of the 9 inputs; more than
 *   n − t leaving: the round fails cleanly and the model is kept bit for bit;
 * - a plain sealed update and bad bytes in a secure round are refused and counted; the round goes on.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RoundRecord } from '../src/aggregator/checkpoint.ts';
import { encodeFrame, type ServerMessage } from '../src/core/protocol.ts';
import { SecAggClient } from '../src/core/secagg/client.ts';
import { decodeMessage, encodeMessage } from '../src/core/secagg/messages.ts';
import { fromHex } from '../src/crypto/bytes.ts';
import {
  getStatus,
  joinRaw,
  type RawConnection,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  waitFor,
  within,
} from './federation.ts';

let t: TestAggregator | null = null;
const raws: RawConnection[] = [];
afterEach(async () => {
  for (const c of raws.splice(0)) c.ws.close();
  await t?.agg.close();
  t = null;
});

type Leave = 'before-input' | 'after-input';

/** The message type a SecAgg payload carries (its 4th byte: position in SECAGG_MESSAGE_TYPES + 1). */
const RELAY = 5;
const SURVIVORS = 7;

interface SecureMember {
  c: RawConnection;
  update: Float32Array;
  numSamples: number;
  leave?: Leave;
  /** Resolves when the member's part of the round is over (done, or it left). */
  done: Promise<void>;
}

/** A seeded, bounded pseudo-random vector (deltas well inside the clip bound 1). */
function vector(n: number, seed: number, scale = 0.05): Float32Array {
  let x = seed * 2654435761;
  return Float32Array.from({ length: n }, () => {
    x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x6d2b79f5) >>> 0;
    return ((x / 2 ** 32) * 2 - 1) * scale;
  });
}

/** Runs `c`'s SecAgg+ part of the next (secure) round, answering with `update`, leaving as told. */
async function playRound(
  c: RawConnection,
  update: Float32Array,
  numSamples: number,
  leave?: Leave,
): Promise<void> {
  const round = await c.nextOf('round');
  expect(round.secagg).toEqual({});
  const { session, clientId } = c.joined();
  const sa = new SecAggClient({
    clientId,
    identity: c.identity,
    context: { session: fromHex(session), round: round.round },
  });
  const send = async (bytes: Uint8Array[]) => {
    for (const payload of bytes) await c.send(encodeFrame({ type: 'secagg', round: round.round, payload }));
  };
  for (;;) {
    const m: ServerMessage = await c.next();
    if (m.type === 'ack' || (m.type === 'status' && m.phase === 'finished')) return;
    if (m.type !== 'secagg') continue;
    const kind = m.payload[3];
    if ((leave === 'before-input' && kind === RELAY) || (leave === 'after-input' && kind === SURVIVORS)) {
      c.ws.close();
      return;
    }
    await send(sa.handleBytes(m.payload));
    if (sa.phase === 'advertised') await send(sa.setInput(update, numSamples).map((x) => encodeMessage(x)));
    if (sa.phase === 'done' || sa.phase === 'aborted') return;
  }
}

async function members(n: number, size: number, leave: Map<number, Leave> = new Map()) {
  const out: SecureMember[] = [];
  for (let i = 0; i < n; i++) {
    const c = await rawConnection(t!.url, t!.spec);
    raws.push(c);
    await joinRaw(c, 40 + i * 7, `secure-${i}`);
    const update = vector(size, i + 1);
    const numSamples = 40 + i * 7;
    out.push({ c, update, numSamples, leave: leave.get(i), done: Promise.resolve() });
  }
  for (const m of out) m.done = playRound(m.c, m.update, m.numSamples, m.leave);
  return out;
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = Math.min(a.length, b.length);
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** FedAvg of `ms`' updates (clip 1), added to `global`, in float64. */
function fedAvg(global: Float32Array, ms: SecureMember[]): Float64Array {
  const total = ms.reduce((s, m) => s + m.numSamples, 0);
  const out = Float64Array.from(global);
  for (const m of ms) for (let j = 0; j < out.length; j++) out[j]! += (m.numSamples * m.update[j]!) / total;
  return out;
}

const SECURE = {
  rounds: 1,
  quorum: 2,
  roundDeadlineSeconds: 60,
  onQuorumMiss: 'close',
  secureAggregation: true,
};

describe('secure aggregation in real rounds', () => {
  it(
    'the aggregator holds only masked vectors uncorrelated with the updates, and recovers the FedAvg sum',
    { timeout: 120_000 },
    async () => {
      t = await startTestAggregator(
        await smallExperiment({ ...SECURE, clientsPerRound: { fraction: 1, min: 4, max: 4 } }),
      );
      const received: { clientId: string; payload: Uint8Array }[] = [];
      t.agg.coordinator.on('secagg', (e: { clientId: string; payload: Uint8Array }) => received.push(e));
      const ended: RoundRecord[] = [];
      t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
      const before = t.agg.coordinator.globalWeights();
      const size = before.length;
      expect(size).toBeGreaterThan(1000);

      const ms = await members(4, size);
      await within(Promise.all(ms.map((m) => m.done)), 'the secure round', 90_000);
      await waitFor(() => ended.length === 1, 30_000, 'round 1 to end');
      expect(ended[0]!.outcome).toBe('aggregated');
      expect(ended[0]!.participants).toBe(4);
      // No training metrics cross in the clear under SecAgg.
      expect(ended[0]!.clientMetrics).toEqual([]);

      // What the server received: per client one advertisement, one share list, one masked input, one
      // consistency signature, one unmask message, and nothing else.
      const byId = new Map(ms.map((m) => [m.c.joined().clientId, m]));
      const kinds = received.map((r) => decodeMessage(r.payload).type);
      expect(kinds.filter((k) => k === 'masked-input')).toHaveLength(4);
      expect(received).toHaveLength(20);
      for (const r of received) {
        const msg = decodeMessage(r.payload);
        if (msg.type !== 'masked-input') continue;
        const m = byId.get(r.clientId)!;
        const y = msg.vector.subarray(0, size);
        // Uniform on the ring: uncorrelated with the update, and spread over all of Z_2^32.
        expect(Math.abs(pearson(y, m.update))).toBeLessThan(0.1);
        const signed = Int32Array.from(y, (v) => v | 0);
        expect(Math.abs(pearson(signed, m.update))).toBeLessThan(0.1);
        let high = 0;
        for (const v of y) if (v >= 2 ** 31) high++;
        expect(high / size).toBeGreaterThan(0.4);
        expect(high / size).toBeLessThan(0.6);
        // The weight element is masked too.
        expect(msg.vector[size]).not.toBe(m.numSamples);
      }

      // The recovered sum: the new global model is FedAvg of the four updates, within the error bound.
      const after = t.agg.coordinator.globalWeights();
      const want = fedAvg(before, ms);
      const status = await getStatus(t);
      const last = status.secureAggregation.lastRound!;
      expect(last).toMatchObject({ round: 1, members: 4, survivors: 4, dropped: 0, outcome: 'recovered' });
      expect(status.secureAggregation.enabled).toBe(true);
      expect(status.privacy.secureAggregation).toBe(true);
      const bound = last.errorBound! + 2 ** -20; // + float32 rounding of the new weights
      let worst = 0;
      for (let j = 0; j < size; j++) worst = Math.max(worst, Math.abs(after[j]! - want[j]!));
      expect(worst).toBeLessThanOrEqual(bound);
      // ...and not the model it started from.
      expect(after.some((w, j) => w !== before[j])).toBe(true);
    },
  );

  it(
    '10 clients, 1 leaving before its masked input and 3 after it: the exact sum of the 9 inputs',
    { timeout: 180_000 },
    async () => {
      t = await startTestAggregator(
        await smallExperiment({ ...SECURE, clientsPerRound: { fraction: 1, min: 10, max: 10 } }),
      );
      const ended: RoundRecord[] = [];
      t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
      const before = t.agg.coordinator.globalWeights();
      const leave = new Map<number, Leave>([
        [1, 'before-input'],
        [4, 'after-input'],
        [6, 'after-input'],
        [8, 'after-input'],
      ]);
      const ms = await members(10, before.length, leave);
      await within(Promise.all(ms.map((m) => m.done)), 'the secure round', 150_000);
      await waitFor(() => ended.length === 1, 60_000, 'round 1 to end');
      expect(ended[0]!.outcome).toBe('aggregated');
      expect(ended[0]!.participants).toBe(9);
      const inSum = ms.filter((m) => m.leave !== 'before-input');
      expect(ended[0]!.contributed.sort()).toEqual(inSum.map((m) => m.c.joined().clientId).sort());
      const status = await getStatus(t);
      expect(status.secureAggregation.lastRound).toMatchObject({
        members: 10,
        survivors: 9,
        dropped: 1,
        departed: 4,
        degree: 9,
        threshold: 6,
        outcome: 'recovered',
      });
      const after = t.agg.coordinator.globalWeights();
      const want = fedAvg(before, inSum);
      const bound = status.secureAggregation.lastRound!.errorBound! + 2 ** -20;
      for (let j = 0; j < after.length; j++)
        expect(Math.abs(after[j]! - want[j]!)).toBeLessThanOrEqual(bound);
    },
  );

  it(
    'more than n − t leaving: the round fails cleanly, is reported like a missed quorum, and keeps the model bit for bit',
    { timeout: 180_000 },
    async () => {
      t = await startTestAggregator(
        await smallExperiment({ ...SECURE, clientsPerRound: { fraction: 1, min: 10, max: 10 } }),
      );
      const ended: RoundRecord[] = [];
      t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
      const before = t.agg.coordinator.globalWeights();
      // n = 10, t = 6: five members leave after their masked input, so only 5 can unmask.
      const leave = new Map<number, Leave>([0, 2, 3, 5, 9].map((i) => [i, 'after-input'] as const));
      const ms = await members(10, before.length, leave);
      await within(Promise.all(ms.map((m) => m.done)), 'the secure round', 150_000);
      await waitFor(() => ended.length === 1, 60_000, 'round 1 to end');
      expect(ended[0]!.outcome).toBe('closed');
      expect(ended[0]!.participants).toBe(0);
      expect(t.agg.coordinator.modelVersion).toBe(0);
      expect(Buffer.from(t.agg.coordinator.globalWeights().buffer).equals(Buffer.from(before.buffer))).toBe(
        true,
      );
      const status = await getStatus(t);
      expect(status.secureAggregation.lastRound).toMatchObject({ outcome: 'failed', members: 10 });
      expect(status.secureAggregation.lastRound!.failure).toMatch(/too-many-dropouts/);
      expect(status.refusals['secagg-round-failed']).toBe(1);
      expect(t.logs.some((l) => /the secure round failed/.test(l))).toBe(true);
    },
  );

  it(
    'refuses a plain sealed update and bad SecAgg bytes in a secure round, counts them, and goes on',
    { timeout: 120_000 },
    async () => {
      t = await startTestAggregator(
        await smallExperiment({ ...SECURE, clientsPerRound: { fraction: 1, min: 3, max: 3 } }),
      );
      const ended: RoundRecord[] = [];
      t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
      const a = await rawConnection(t.url, t.spec);
      const b = await rawConnection(t.url, t.spec);
      const c = await rawConnection(t.url, t.spec);
      raws.push(a, b, c);
      const size = (await joinRaw(a)).experiment.modelSize;
      await joinRaw(b);
      await joinRaw(c);
      // `a` first misbehaves, in its own copy of the round: a plain sealed update, then garbage bytes.
      const round = await a.nextOf('round');
      await a.sendUpdate(
        round,
        encodeFrame({
          type: 'update',
          round: round.round,
          baseVersion: round.version,
          numSamples: 50,
          metrics: { loss: 1, seconds: 1, samplesPerSec: 1 },
          delta: new Float32Array(size).fill(0.01),
        }),
      );
      const r1 = await a.nextOf('refused');
      expect(r1.reason).toBe('wrong-context');
      expect(r1.message).toMatch(/secure round/);
      await a.send(
        encodeFrame({ type: 'secagg', round: round.round, payload: Uint8Array.of(0x53, 0x41, 9, 9) }),
      );
      const r2 = await a.nextOf('refused');
      expect(r2.reason).toBe('malformed');
      // The round goes on without `a` (it never advertises): b and c cannot make a secure round of 2
      // (SECAGG.minMembers = 3), so it fails at the advertisement deadline, cleanly.
      const status = await getStatus(t);
      expect(status.refusals['wrong-context']).toBeGreaterThanOrEqual(1);
      expect(status.refusals['secagg-malformed']).toBe(1);
      expect(status.secureAggregation.phase).toBe('advertise');
      // The admin cannot switch a secure experiment to a strategy that needs single updates.
      expect(() => t!.agg.coordinator.reconfigure({ strategy: 'krum' })).toThrow(
        /cannot run with secureAggregation: krum compares single client updates/,
      );
      expect(t.agg.coordinator.status(null).strategy).toBe('fedavg');
    },
  );

  it(
    'a new session during a secure round ends it without recording or retrying it',
    { timeout: 60_000 },
    async () => {
      t = await startTestAggregator(
        await smallExperiment({
          ...SECURE,
          clientsPerRound: { fraction: 1, min: 3, max: 3 },
        }),
      );
      const ended: RoundRecord[] = [];
      t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
      const cs = await Promise.all([0, 1, 2].map(() => rawConnection(t!.url, t!.spec)));
      raws.push(...cs);
      for (const c of cs) await joinRaw(c);
      await cs[0]!.nextOf('round');
      await waitFor(
        () => t!.agg.coordinator.status(null).secureAggregation.phase === 'advertise',
        10_000,
        'the secure round',
      );
      const { previous, session } = t.agg.coordinator.newSession();
      expect(session).not.toBe(previous);
      await new Promise((ok) => setTimeout(ok, 600));
      const s = t.agg.coordinator.status(null);
      expect(ended).toEqual([]);
      expect(s.history).toEqual([]);
      expect(s.round).toBe(0);
      expect(s.secureAggregation.lastRound).toMatchObject({ outcome: 'failed' });
      expect(s.secureAggregation.lastRound!.failure).toMatch(/^aborted/);
      expect(s.refusals['secagg-round-failed']).toBeUndefined();
    },
  );
});
