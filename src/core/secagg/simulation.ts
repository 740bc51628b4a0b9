/**
 * An in-process SecAgg+ round: one SecAggServer and n SecAggClients exchanging encoded messages through
 * plain function calls, with members that drop out at a chosen phase. Used by the tests beside this file
 * and by the cost bench (src/bench/secagg.ts); it measures each side's compute and bytes per phase.
 * Real cryptography throughout; nothing is mocked.
 * @module
 */
import { generateIdentity, type Identity } from '../../crypto/identity.ts';
import { SecAggClient } from './client.ts';
import type { GraphParams } from './graph.ts';
import { encodeMessage, type ServerMessage } from './messages.ts';
import type { RingParams } from './ring.ts';
import { type SecAggResult, SecAggServer } from './server.ts';

/** The phase after which a member stops answering. */
export type DropPoint = 'advertise' | 'share' | 'input' | 'consistency';

export interface SimulatedMember {
  clientId: string;
  identity: Identity;
  update: Float32Array;
  numSamples: number;
  /** Stops answering after sending this phase's message (undefined: stays to the end). */
  dropAfter?: DropPoint;
  /** Stops answering before this phase's message, without sending it. */
  dropBefore?: DropPoint;
}

export interface SimulationOptions {
  session?: Uint8Array;
  round?: number;
  ring: RingParams;
  graph?: GraphParams;
  minMembers?: number;
  seed?: Uint8Array;
  /**
   * The clock compute is measured with, in ms (default `performance.now`, wall time). A bench on a shared
   * machine passes the process's CPU time instead.
   */
  clock?: () => number;
  /** Called with every message the server receives (sender id, bytes), in order. */
  onServerReceive?: (from: string, bytes: Uint8Array) => void;
}

/** Compute (ms) and bytes of one side. */
export interface Cost {
  ms: number;
  bytesUp: number;
  bytesDown: number;
}

export interface SimulationReport {
  result?: SecAggResult;
  error?: unknown;
  server: SecAggServer;
  clients: Map<string, SecAggClient>;
  /** Per client id: its compute and the bytes it sent (up) and received (down). */
  clientCost: Map<string, Cost>;
  /** The server's compute; bytesUp = bytes it received, bytesDown = bytes it sent. */
  serverCost: Cost;
}

const PHASE_ORDER: DropPoint[] = ['advertise', 'share', 'input', 'consistency'];

function silentAt(member: SimulatedMember, phase: DropPoint | 'unmask'): boolean {
  const at = phase === 'unmask' ? PHASE_ORDER.length : PHASE_ORDER.indexOf(phase);
  if (member.dropBefore && at >= PHASE_ORDER.indexOf(member.dropBefore)) return true;
  if (member.dropAfter && at > PHASE_ORDER.indexOf(member.dropAfter)) return true;
  return false;
}

/** n members with identities drawn from deterministic seeds (fast to make again) and random updates. */
export function makeMembers(
  n: number,
  vectorLength: number,
  options: { scale?: number; maxSamples?: number; random?: () => number } = {},
): SimulatedMember[] {
  const random = options.random ?? Math.random;
  const scale = options.scale ?? 0.1;
  const maxSamples = options.maxSamples ?? 500;
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32);
    seed[0] = i & 0xff;
    seed[1] = (i >> 8) & 0xff;
    seed[31] = 0x5a;
    const update = new Float32Array(vectorLength);
    for (let j = 0; j < vectorLength; j++) update[j] = (random() * 2 - 1) * scale;
    return {
      clientId: `client-${String(i).padStart(4, '0')}`,
      identity: generateIdentity(seed),
      update,
      numSamples: 1 + Math.floor(random() * maxSamples),
    };
  });
}

/** Runs one round to its end (or failure); never throws for a round failure: it is in `error`. */
export function simulateRound(members: SimulatedMember[], options: SimulationOptions): SimulationReport {
  const session = options.session ?? new Uint8Array(16).fill(7);
  const round = options.round ?? 1;
  const vectorLength = members[0]!.update.length;
  const serverCost: Cost = { ms: 0, bytesUp: 0, bytesDown: 0 };
  const clientCost = new Map<string, Cost>();
  const clock = options.clock ?? (() => performance.now());
  const timed = <T>(cost: Cost, fn: () => T): T => {
    const start = clock();
    try {
      return fn();
    } finally {
      cost.ms += clock() - start;
    }
  };
  const server = timed(
    serverCost,
    () =>
      new SecAggServer({
        session,
        round,
        vectorLength,
        ring: options.ring,
        graph: options.graph,
        minMembers: options.minMembers,
        seed: options.seed,
      }),
  );
  const clients = new Map<string, SecAggClient>();
  const byId = new Map(members.map((m) => [m.clientId, m]));
  for (const m of members) {
    clients.set(
      m.clientId,
      new SecAggClient({ clientId: m.clientId, identity: m.identity, context: { session, round } }),
    );
    clientCost.set(m.clientId, { ms: 0, bytesUp: 0, bytesDown: 0 });
  }
  const toServer = (from: string, out: Uint8Array[]): void => {
    for (const bytes of out) {
      clientCost.get(from)!.bytesUp += bytes.length;
      serverCost.bytesUp += bytes.length;
      options.onServerReceive?.(from, bytes);
      timed(serverCost, () => server.receiveBytes(from, bytes));
    }
  };
  /** Encodes (on the server's clock) and delivers a message, unless its recipient has gone. */
  const deliver = (to: string, message: ServerMessage, phase: DropPoint | 'unmask'): void => {
    const member = byId.get(to)!;
    if (silentAt(member, phase)) return;
    const bytes = timed(serverCost, () => encodeMessage(message));
    serverCost.bytesDown += bytes.length;
    const cost = clientCost.get(to)!;
    cost.bytesDown += bytes.length;
    let out = timed(cost, () => clients.get(to)!.handleBytes(bytes));
    if (phase === 'input' && out.length === 0) {
      out = timed(cost, () => clients.get(to)!.setInput(member.update, member.numSamples)).map(encodeMessage);
    }
    toServer(to, out);
  };
  try {
    const config = server.config();
    for (const m of members) deliver(m.clientId, config, 'advertise');
    const phases: (DropPoint | 'unmask')[] = ['share', 'input', 'consistency', 'unmask'];
    for (const phase of phases) {
      const outgoing = timed(serverCost, () => server.advance());
      for (const o of outgoing) deliver(o.to, o.message, phase);
    }
    timed(serverCost, () => server.advance());
    return { result: server.result, server, clients, clientCost, serverCost };
  } catch (error) {
    return { error, server, clients, clientCost, serverCost };
  }
}

/** The plain weighted sum Σ n_i · clip(w_i) and Σ n_i over `members`, in float64. */
export function plainWeightedSum(
  members: SimulatedMember[],
  clip: number,
): { sum: Float64Array; weight: number } {
  const d = members[0]!.update.length;
  const sum = new Float64Array(d);
  let weight = 0;
  for (const m of members) {
    weight += m.numSamples;
    for (let j = 0; j < d; j++) sum[j]! += m.numSamples * Math.max(-clip, Math.min(clip, m.update[j]!));
  }
  return { sum, weight };
}
