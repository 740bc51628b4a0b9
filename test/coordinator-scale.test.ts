/**
 * The coordinator with 1,000 clients (bench/load.ts found these): joining N clients is linear work in N
 * (counted, not timed), and the public status stays bounded whatever the number of clients
 * (src/aggregator/status-lists.ts). The clients are in-process peers speaking the coordinator's own
 * interface (it is independent of sockets by design); the history comes from a checkpoint, as after a
 * restart.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Checkpoint, RoundRecord } from '../src/aggregator/checkpoint.ts';
import { parseConfig } from '../src/aggregator/config.ts';
import { Coordinator, type Peer } from '../src/aggregator/coordinator.ts';
import { PROTOCOL } from '../src/core/limits.ts';

const N = 1000;
const ROUNDS = 3;
const LIMIT = PROTOCOL.statusListedClients;
const id = (i: number) => `c-${i.toString(16).padStart(12, '0')}`;
const fp = (i: number) => `key-${i}`;

function peer(i: number): Peer {
  return {
    address: `127.0.0.1:${10_000 + i}`,
    identity: { publicKey: new Uint8Array(1), fingerprint: fp(i) },
    send: async (frame) => frame.length,
    close: () => {},
  };
}

/** A past round in which clients 0..n-1 took part. */
function pastRound(round: number, n: number, list: (ids: string[]) => string[] = (x) => x): RoundRecord {
  const ids = Array.from({ length: n }, (_, i) => id(i));
  return {
    round,
    participants: n,
    accuracy: 0.5,
    macroF1: 0.4,
    mosMAE: 0.3,
    loss: 1,
    bytesUp: 86_000 * n,
    bytesDown: 93_000 * n,
    seconds: 10,
    outcome: 'aggregated',
    selected: list(ids),
    contributed: list(ids),
    failed: [],
    clientMetrics: ids.map((clientId) => ({
      clientId,
      loss: 0.9,
      numSamples: 100,
      seconds: 1.5,
      samplesPerSec: 1000,
    })),
    perClassRecall: { normal: 0.9 },
    majorityBaseline: { accuracy: 0.3, macroF1: 0.1 },
    strategy: 'fedavg',
    cryptoSeconds: 1,
  };
}

/** A coordinator resumed after `history`, whose clients 0..n-1 registered their keys before. */
function coordinator(
  history: RoundRecord[],
  n: number,
  config: Record<string, unknown> = {},
  opened: { count: number } = { count: 0 },
): Coordinator {
  const weights = new Float32Array(4);
  const resume: Checkpoint = {
    session: 'a'.repeat(32),
    round: history.length,
    version: history.length,
    strategy: 'fedavg',
    history,
    weights,
    strategyState: {},
    configDigest: 'test',
    clientKeys: Object.fromEntries(Array.from({ length: n }, (_, i) => [id(i), fp(i)])),
    clientShards: {},
  };
  return new Coordinator({
    config: parseConfig({ rounds: 100, autoStart: false, ...config }),
    experiment: { dataset: 'toniot', model: {}, preprocessor: {}, modelSize: weights.length },
    initialWeights: weights,
    evaluate: async () => {
      throw new Error('no evaluation in this test');
    },
    // A round key that is never made: the round stays open with its selection, nothing is sent.
    channels: {
      openRound: () => {
        opened.count++;
        return new Promise(() => {});
      },
    },
    dataDir: null,
    resume,
    configDigest: 'test',
  });
}

async function join(co: Coordinator, n: number, from = 0): Promise<void> {
  for (let i = from; i < n; i++) {
    await co.handle(peer(i), { type: 'hello', name: `client ${i}`, backend: 'wasm', numSamples: 100 }, 100);
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('joining 1,000 clients is linear work', () => {
  it('reads each past round once, not once per joining client', async () => {
    // Count every element read of the past rounds' contributor lists.
    let reads = 0;
    const counted = (ids: string[]) =>
      new Proxy(ids, {
        get(target, key, receiver) {
          if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
          return Reflect.get(target, key, receiver);
        },
      });
    const history = Array.from({ length: ROUNDS }, (_, r) => pastRound(r + 1, N, counted));
    const co = coordinator(history, N);
    await join(co, N);
    // Each client still gets the rounds it contributed to.
    expect(co.status(null).clientList.every((c) => c.rounds === ROUNDS)).toBe(true);
    // Linear: a bounded number of reads per list entry (was ≈ N²·R/2 = 1.5 million: every join scanned
    // every past round's list).
    expect(reads).toBeLessThanOrEqual(4 * N * ROUNDS);
  });

  it('counts contributions afresh in a new session', async () => {
    const co = coordinator([pastRound(1, 3)], 3);
    await join(co, 3);
    expect(co.status(null).clientList.map((c) => c.rounds)).toEqual([1, 1, 1]);
    co.newSession();
    await join(co, 3);
    expect(co.status(null).clientList.map((c) => c.rounds)).toEqual([0, 0, 0]);
  });

  it('does not sort the connected clients on every join', async () => {
    // Auto-start with more clients required than join: every join asks whether a round can start.
    const co = coordinator([], 0, {
      autoStart: true,
      clientsPerRound: { fraction: 1, min: N + 1, max: N + 1 },
    });
    const sort = vi.spyOn(Array.prototype, 'sort');
    await join(co, N);
    expect(co.status(null).clients).toBe(N);
    // Was N sorts of up to N ids (one per join): O(N² log N).
    expect(sort.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('still starts the round once enough clients are ready, with every one of them selected', async () => {
    const opened = { count: 0 };
    const co = coordinator(
      [],
      0,
      { autoStart: true, clientsPerRound: { fraction: 1, min: N, max: N } },
      opened,
    );
    await join(co, N - 1);
    expect(co.status(null).currentRound).toBeNull();
    await join(co, N, N - 1);
    const round = co.status(null).currentRound;
    expect(round?.selectedCount).toBe(N);
    expect(opened.count).toBe(1);
  });
});

describe('/api/status with 1,000 clients', () => {
  const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x));

  it('stays the size it has with the listed number of clients, and counts the rest', async () => {
    const small = coordinator(
      Array.from({ length: ROUNDS }, (_, r) => pastRound(r + 1, LIMIT)),
      LIMIT,
    );
    await join(small, LIMIT);
    const big = coordinator(
      Array.from({ length: ROUNDS }, (_, r) => pastRound(r + 1, N)),
      N,
    );
    await join(big, N);

    const s = big.status('fp', { listed: LIMIT });
    // Was ≈ 570 B a client after three rounds (570 KB here); now the size of a 100-client status.
    expect(bytes(s)).toBeLessThanOrEqual(1.1 * bytes(small.status('fp', { listed: LIMIT })));
    expect(s.clients).toBe(N);
    expect(s.clientCounts).toEqual({ total: N, listed: LIMIT, idle: N, training: 0, submitted: 0 });
    expect(s.clientList.map((c) => c.id)).toEqual(Array.from({ length: LIMIT }, (_, i) => id(i)));
    for (const h of s.history) {
      expect(h.participants).toBe(N);
      expect(h.selectedCount).toBe(N);
      expect(h.selected).toHaveLength(LIMIT);
      expect(h.clientMetrics).toHaveLength(LIMIT);
    }
  });

  it('bounds the open round’s lists too, and gives their counts', async () => {
    const co = coordinator([], 0, { autoStart: true, clientsPerRound: { fraction: 1, min: N, max: N } });
    await join(co, N);
    const r = co.status('fp', { listed: LIMIT }).currentRound!;
    expect([r.selectedCount, r.submittedCount, r.failedCount]).toEqual([N, 0, 0]);
    expect(r.selected).toHaveLength(LIMIT);
    expect(co.status('fp', { listed: LIMIT }).clientCounts.training).toBe(0);
  });

  it('lists everything up to the limit, and everything in the export', async () => {
    const co = coordinator([pastRound(1, N)], N);
    await join(co, LIMIT);
    // 100 connected: all listed; the past round's list of 1,000 (most have left) is cut to them.
    const s = co.status('fp', { listed: LIMIT });
    expect(s.clientList).toHaveLength(LIMIT);
    expect(s.history[0]!.contributed).toHaveLength(LIMIT);
    // The export (no limit) keeps every id.
    const full = co.status('fp');
    expect(full.history[0]!.contributed).toHaveLength(N);
    expect(full.history[0]!.clientMetrics).toHaveLength(N);
  });
});
