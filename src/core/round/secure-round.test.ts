/**
 * The secure round (secure-round.ts) with real SecAgg+ clients (real ML-KEM-768, ML-DSA-65, ChaCha20,
 * Shamir), a fake clock, and members that leave at chosen phases: the recovered sum reaches the strategy
 * as FedAvg of the contributors, within the ring's error bound; more than n − t departures fail the round
 * without any `add`; phase deadlines close phases for silent members; refused messages change nothing.
 */
import { describe, expect, it } from 'vitest';
import { SecAggClient } from '../secagg/client.ts';
import { encodeMessage } from '../secagg/messages.ts';
import { makeMembers, plainWeightedSum, type SimulatedMember } from '../secagg/simulation.ts';
import { FedAvg } from '../strategies/fedavg.ts';
import { createStrategy, type StrategyName } from '../strategies/index.ts';
import type { ClientUpdate } from '../strategies/strategy.ts';
import { type RoundTimers, SECURE_SUM_ID, SecureRound, type SecureRoundOutcome } from './secure-round.ts';

const SESSION = new Uint8Array(16).fill(3);
const RING = { clip: 1, maxWeight: 500 };
/** δ = 0.2: for 10 members the graph is complete (k = 9, t = 6), so any 4 may drop. */
const GRAPH = { sigma: 40, eta: 30, gamma: 0.05, delta: 0.2 };

/** A fake clock: timers fire only when the test advances time. */
class FakeTimers implements RoundTimers {
  now = 0;
  private next = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  set(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }
  get armed(): number {
    return this.pending.size;
  }
  advance(ms: number): void {
    this.now += ms;
    for (const [id, t] of [...this.pending].sort((a, b) => a[1].at - b[1].at)) {
      if (t.at <= this.now && this.pending.delete(id)) t.fn();
    }
  }
}

type Leave = 'before-advertise' | 'before-input' | 'after-input';

interface Harness {
  round: SecureRound;
  timers: FakeTimers;
  outcomes: SecureRoundOutcome[];
  added: ClientUpdate[];
  /** Delivers queued server messages until nothing moves. */
  pump(): void;
  /** Sends every member's input that has not gone yet. */
  inputs(): void;
  /** The members whose masked input the round took (its `onInput`), in order. */
  taken: string[];
}

function harness(
  members: SimulatedMember[],
  leave: Map<string, Leave> = new Map(),
  extra: { silent?: Set<string>; noInput?: Set<string>; onRecovered?: () => void } = {},
): Harness {
  const timers = new FakeTimers();
  const outcomes: SecureRoundOutcome[] = [];
  const added: ClientUpdate[] = [];
  const taken: string[] = [];
  const queue: { to: string; bytes: Uint8Array }[] = [];
  const clients = new Map(
    members.map((m) => [
      m.clientId,
      new SecAggClient({
        clientId: m.clientId,
        identity: m.identity,
        context: { session: SESSION, round: 4 },
      }),
    ]),
  );
  const round = new SecureRound(
    {
      session: SESSION,
      round: 4,
      vectorLength: members[0]!.update.length,
      ring: RING,
      graph: GRAPH,
      members: members.map((m) => m.clientId),
      identityOf: (id) => members.find((m) => m.clientId === id)?.identity.publicKey,
      timers,
      deadlines: { advertiseMs: 1000, shareMs: 2000, inputMs: 10_000, closingMs: 500 },
      send: (to, bytes) => queue.push({ to, bytes }),
      onEnd: (o) => outcomes.push(o),
      aggregator: { add: (u) => added.push(u) },
      onInput: (id) => taken.push(id),
      ...(extra.onRecovered && { onRecovered: extra.onRecovered }),
    },
    () => timers.now,
  );
  const left = new Set<string>();
  const go = (id: string) => {
    left.add(id);
    round.leave(id);
  };
  const answer = (id: string, out: Uint8Array[]) => {
    for (const bytes of out) expect(round.receive(id, bytes)).toEqual({ accepted: true });
  };
  const pump = () => {
    while (queue.length) {
      const { to, bytes } = queue.shift()!;
      if (left.has(to) || extra.silent?.has(to)) continue;
      const when = leave.get(to);
      const kind = bytes[3]; // message type byte: 1 config, 3 keys, 5 relay, 7 survivors, 9 consistency-sigs
      if (when === 'before-advertise' && kind === 1) go(to);
      else if (when === 'before-input' && kind === 5) go(to);
      else if (when === 'after-input' && kind === 7) go(to);
      else answer(to, clients.get(to)!.handleBytes(bytes));
    }
  };
  const inputs = () => {
    for (const m of members) {
      if (
        left.has(m.clientId) ||
        extra.silent?.has(m.clientId) ||
        extra.noInput?.has(m.clientId) ||
        leave.get(m.clientId) === 'before-input'
      )
        continue;
      answer(m.clientId, clients.get(m.clientId)!.setInput(m.update, m.numSamples).map(encodeMessage));
      pump();
    }
  };
  return { round, timers, outcomes, added, pump, inputs, taken };
}

function fedAvgOf(members: SimulatedMember[], global: Float32Array, clip: number): Float32Array {
  const { sum, weight } = plainWeightedSum(members, clip);
  return Float32Array.from(global, (g, j) => g + sum[j]! / weight);
}

describe('SecureRound', () => {
  it('hands FedAvg the recovered sum of every member, within the ring error bound', () => {
    const members = makeMembers(5, 300, { maxSamples: 400 });
    const h = harness(members);
    let recovered = 0;
    const h2 = harness(members, new Map(), { onRecovered: () => recovered++ });
    for (const x of [h, h2]) {
      x.round.start();
      x.pump();
      x.inputs();
      x.pump();
    }
    expect(h.outcomes).toHaveLength(1);
    const o = h.outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    expect(h.round.phase).toBe('done');
    expect(o.result.contributors).toHaveLength(5);
    expect(h.added).toHaveLength(1);
    expect(h.added[0]!.clientId).toBe(SECURE_SUM_ID);
    expect(h.added[0]!.numSamples).toBe(members.reduce((s, m) => s + m.numSamples, 0));
    expect(recovered).toBe(1);
    // Through a real strategy: FedAvg of the one summed update equals FedAvg of the single updates.
    const global = new Float32Array(300).fill(0.25);
    const agg = new FedAvg().begin(1, global);
    agg.add(h.added[0]!);
    const got = agg.finish();
    const want = fedAvgOf(members, global, RING.clip);
    const bound = o.result.errorBound + 1e-7; // + float32 rounding of the result
    let worst = 0;
    for (let j = 0; j < want.length; j++) worst = Math.max(worst, Math.abs(got[j]! - want[j]!));
    expect(worst).toBeLessThanOrEqual(bound);
    expect(h.timers.armed).toBe(0);
  });

  it('10 members, 1 leaving before its masked input and 3 after it: the exact sum of the 9 inputs', () => {
    const members = makeMembers(10, 200);
    const leave = new Map<string, Leave>([
      [members[2]!.clientId, 'before-input'],
      [members[4]!.clientId, 'after-input'],
      [members[7]!.clientId, 'after-input'],
      [members[9]!.clientId, 'after-input'],
    ]);
    const h = harness(members, leave);
    h.round.start();
    h.pump();
    h.inputs();
    h.pump();
    const o = h.outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    expect(h.round.degree).toMatchObject({ n: 10, t: 6, complete: true });
    expect(h.taken).toHaveLength(9);
    expect(h.taken).not.toContain(members[2]!.clientId);
    const inSum = members.filter((m) => leave.get(m.clientId) !== 'before-input');
    expect(o.result.contributors.sort()).toEqual(inSum.map((m) => m.clientId).sort());
    expect(o.result.dropped).toEqual([members[2]!.clientId]);
    const { sum, weight } = plainWeightedSum(inSum, RING.clip);
    expect(o.result.totalWeight).toBe(weight);
    const perElement = inSum.length / (2 * o.result.scale);
    for (let j = 0; j < sum.length; j++) {
      expect(Math.abs(o.result.weightedSum[j]! - sum[j]!)).toBeLessThanOrEqual(perElement);
    }
  });

  it('more than n − t departures: the round fails with too-many-dropouts and adds nothing', () => {
    const members = makeMembers(10, 50);
    const leave = new Map<string, Leave>(
      [1, 3, 5, 6, 8].map((i) => [members[i]!.clientId, 'after-input'] as const),
    );
    const h = harness(members, leave);
    h.round.start();
    h.pump();
    h.inputs();
    h.pump();
    expect(h.outcomes).toHaveLength(1);
    const o = h.outcomes[0]!;
    expect(o.ok).toBe(false);
    if (o.ok) return;
    expect(o.reason).toBe('too-many-dropouts');
    expect(h.added).toHaveLength(0);
    expect(h.round.phase).toBe('failed');
    expect(h.timers.armed).toBe(0);
    // After the end every message is refused as stale.
    expect(h.round.receive(members[0]!.clientId, new Uint8Array(30))).toMatchObject({
      accepted: false,
      reason: 'stale',
    });
  });

  it('a silent member: the advertisement phase closes at its deadline and the round goes on without it', () => {
    const members = makeMembers(4, 40);
    const silent = new Set([members[3]!.clientId]);
    const h = harness(members, new Map(), { silent });
    h.round.start();
    h.pump();
    expect(h.round.phase).toBe('advertise');
    h.timers.advance(999);
    expect(h.round.phase).toBe('advertise');
    h.timers.advance(1);
    expect(h.round.phase).toBe('share');
    h.pump();
    expect(h.round.phase).toBe('input');
    h.inputs();
    h.pump();
    const o = h.outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    expect(o.result.contributors).toHaveLength(3);
    expect(o.result.contributors).not.toContain(members[3]!.clientId);
  });

  it('a member that never sends its input: the input phase closes at its deadline without it', () => {
    const members = makeMembers(4, 40);
    const silentInput = new Set([members[1]!.clientId]);
    const h = harness(members, new Map(), { noInput: silentInput });
    h.round.start();
    h.pump();
    h.inputs();
    h.pump();
    expect(h.round.phase).toBe('input');
    h.timers.advance(9_999);
    expect(h.round.phase).toBe('input');
    h.timers.advance(1);
    h.pump();
    const o = h.outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    expect(o.result.contributors).toHaveLength(3);
    expect(o.result.dropped).toEqual([members[1]!.clientId]);
    const { weight } = plainWeightedSum(
      members.filter((m) => !silentInput.has(m.clientId)),
      RING.clip,
    );
    expect(o.result.totalWeight).toBe(weight);
  });

  it('refuses bytes from a non-member, garbage, a server message and a replay; the round goes on', () => {
    const members = makeMembers(3, 20);
    const h = harness(members);
    h.round.start();
    expect(h.round.receive('stranger', new Uint8Array(10))).toMatchObject({
      accepted: false,
      reason: 'not-selected',
      secAggReason: 'unknown-client',
    });
    expect(h.round.receive(members[0]!.clientId, Uint8Array.of(1, 2, 3))).toMatchObject({
      accepted: false,
      secAggReason: 'malformed',
    });
    const c = new SecAggClient({ clientId: members[0]!.clientId, identity: members[1]!.identity });
    const foreign = harness(members);
    let config: Uint8Array | undefined;
    const probe = new SecureRound(
      {
        session: SESSION,
        round: 4,
        vectorLength: 20,
        ring: RING,
        members: [members[0]!.clientId],
        identityOf: () => undefined,
        timers: foreign.timers,
        deadlines: { advertiseMs: 1, shareMs: 1, inputMs: 1, closingMs: 1 },
        send: (_to, bytes) => {
          config = bytes;
        },
        onEnd: () => {},
        aggregator: { add: () => {} },
      },
      () => 0,
    );
    probe.start();
    // A server message sent back is refused.
    expect(h.round.receive(members[0]!.clientId, config!)).toMatchObject({
      accepted: false,
      reason: 'malformed',
    });
    // An advertisement signed with another member's identity key is refused (the connection proved another).
    const [forged] = c.handleBytes(config!);
    expect(h.round.receive(members[0]!.clientId, forged!)).toMatchObject({
      accepted: false,
      reason: 'bad-signature',
    });
    h.pump();
    expect(h.round.phase).toBe('input');
    h.inputs();
    h.pump();
    expect(h.outcomes[0]).toMatchObject({ ok: true });
  });

  it('FedProx, FedAvgM, FedAdam, FedYogi and FedAdagrad step on the one summed update as on the single updates', () => {
    const members = makeMembers(4, 120, { maxSamples: 300 });
    const h = harness(members);
    h.round.start();
    h.pump();
    h.inputs();
    h.pump();
    const o = h.outcomes[0]!;
    if (!o.ok) throw new Error(`round failed: ${o.message}`);
    const global = Float32Array.from({ length: 120 }, (_, j) => Math.sin(j) / 10);
    for (const name of ['fedprox', 'fedavgm', 'fedadam', 'fedyogi', 'fedadagrad'] as StrategyName[]) {
      const plain = createStrategy(name);
      const secure = createStrategy(name);
      // Two rounds, so that server state (momentum, moments) carries the sum too.
      let gPlain: Float32Array = global;
      let gSecure: Float32Array = global;
      for (let round = 1; round <= 2; round++) {
        const a = plain.begin(round, gPlain);
        for (const m of members) a.add({ clientId: m.clientId, delta: m.update, numSamples: m.numSamples });
        gPlain = a.finish();
        const b = secure.begin(round, gSecure);
        b.add(h.added[0]!);
        gSecure = b.finish();
      }
      let worst = 0;
      let scale = 0;
      for (let j = 0; j < 120; j++) {
        worst = Math.max(worst, Math.abs(gPlain[j]! - gSecure[j]!));
        scale = Math.max(scale, Math.abs(gPlain[j]! - global[j]!));
      }
      expect(worst, name).toBeLessThanOrEqual(1e-3 * scale + 1e-6);
    }
  });
});
