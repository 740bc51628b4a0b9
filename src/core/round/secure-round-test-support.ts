/**
 * A SecureRound (secure-round.ts) driven in process by real SecAgg+ clients (real ML-KEM-768, ML-DSA-65,
 * ChaCha20, Shamir) over a queue, with a fake clock and members that leave at chosen phases. For the tests
 * beside it (secure-round.test.ts, secure-view.test.ts); not part of the library.
 * @module
 */
import { expect } from 'vitest';
import { SecAggClient } from '../secagg/client.ts';
import { decodeMessage, encodeMessage } from '../secagg/messages.ts';
import type { SimulatedMember } from '../secagg/simulation.ts';
import type { ClientUpdate } from '../strategies/strategy.ts';
import { type RoundTimers, SecureRound, type SecureRoundOutcome } from './secure-round.ts';

export const SESSION = new Uint8Array(16).fill(3);
export const RING = { clip: 1, maxWeight: 500 };
/** δ = 0.2: for 10 members the graph is complete (k = 9, t = 6), so any 4 may drop. */
export const GRAPH = { sigma: 40, eta: 30, gamma: 0.05, delta: 0.2 };

/** A fake clock: timers fire only when the test advances time. */
export class FakeTimers implements RoundTimers {
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

/** When a member leaves: before its advertisement, before its masked input, or after it. */
export type Leave = 'before-advertise' | 'before-input' | 'after-input';

export interface Harness {
  round: SecureRound;
  timers: FakeTimers;
  outcomes: SecureRoundOutcome[];
  added: ClientUpdate[];
  /** Delivers queued server messages until nothing moves. */
  pump(): void;
  /** Sends every member's input that has not gone yet. */
  inputs(): void;
  /** Starts the round and plays it as far as the members take it: start, pump, inputs, pump. */
  play(): void;
  /** The members whose masked input the round took (its `onInput`), in order. */
  taken: string[];
  /** The masked input vectors the round received, in order. */
  received: Uint32Array[];
}

/**
 * A round of `members` (round number 4 unless `extra.round` says otherwise), `leave` saying who leaves when;
 * `silent` members never answer, `noInput` members send no masked input.
 */
export function harness(
  members: SimulatedMember[],
  leave: Map<string, Leave> = new Map(),
  extra: { silent?: Set<string>; noInput?: Set<string>; onRecovered?: () => void; round?: number } = {},
): Harness {
  const roundNumber = extra.round ?? 4;
  const timers = new FakeTimers();
  const outcomes: SecureRoundOutcome[] = [];
  const added: ClientUpdate[] = [];
  const taken: string[] = [];
  const received: Uint32Array[] = [];
  const queue: { to: string; bytes: Uint8Array }[] = [];
  const clients = new Map(
    members.map((m) => [
      m.clientId,
      new SecAggClient({
        clientId: m.clientId,
        identity: m.identity,
        context: { session: SESSION, round: roundNumber },
      }),
    ]),
  );
  const round = new SecureRound(
    {
      session: SESSION,
      round: roundNumber,
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
    for (const bytes of out) {
      const m = decodeMessage(bytes);
      if (m.type === 'masked-input') received.push(m.vector);
      expect(round.receive(id, bytes)).toEqual({ accepted: true });
    }
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
  const play = () => {
    round.start();
    pump();
    inputs();
    pump();
  };
  return { round, timers, outcomes, added, pump, inputs, play, taken, received };
}
