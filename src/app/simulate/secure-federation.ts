/**
 * Secure aggregation (SecAgg+, docs/secure-aggregation.md) in the in-tab federation: the same round core
 * as the aggregator (src/core/round/secure-round.ts), driven over the clients' MessagePorts. Every client
 * gets the round frame (with `secagg`) at once, SecAgg+ runs while they train, and the recovered sum goes to
 * the strategy as one update; no client's update, loss or sample count is seen by this side.
 * With differential privacy the round frame carries the noise plan of the aggregator's engine
 * (`inTabSecurePrivacy`): every client adds its Skellam share in the ring before masking, this side adds
 * none (it never sees an un-noised sum) and the ledger charges the round once the sum is recovered.
 *
 * One reader per client for the whole run (`SecureInbox`) hands every frame to the round that is open, so
 * that a read left waiting at the end of one round never swallows the first frame of the next.
 */
import type { ServerConnection } from '../../core/channel.ts';
import { SECAGG } from '../../core/limits.ts';
import type { PrivacyLedger } from '../../core/privacy/ledger.ts';
import { type SecureRoundPrivacy, secureRoundPrivacy } from '../../core/privacy/secure-round-privacy.ts';
import {
  type ClientMessage,
  decodeClientFrame,
  encodeFrame,
  ProtocolError,
  type ServerMessage,
} from '../../core/protocol.ts';
import {
  SECURE_AGGREGATION_DEFAULTS,
  type SecureAggregationSettings,
  SecureRound,
  secureGraph,
  secureRoundDeadlines,
  secureStrategyProblem,
} from '../../core/round/secure-round.ts';
import type { SecureRoundView } from '../../core/round/secure-view.ts';
import { SecAggError } from '../../core/secagg/errors.ts';
import type { GraphParams } from '../../core/secagg/graph.ts';
import type { RingParams } from '../../core/secagg/ring.ts';
import type { RoundAggregator, StrategyName } from '../../core/strategies/strategy.ts';
import { fromHex } from '../../crypto/bytes.ts';
import { type PortPeer, StoppedError } from './port-socket.ts';
import type { Refusal } from './results.ts';

/** The in-tab federation's secure aggregation: the round core's settings (clip bound C, dropout share δ). */
export type SecureSettings = SecureAggregationSettings;

/** The defaults of the aggregator's `secureAggregation: true`. */
export const IN_TAB_SECURE_DEFAULTS: Readonly<SecureSettings> = SECURE_AGGREGATION_DEFAULTS;

/** Fewest clients a secure in-tab round can run with. */
export const SECURE_MIN_CLIENTS = SECAGG.minMembers;

/** Why `strategy` (or this many clients) cannot run under secure aggregation; null when it can. */
export function secureProblem(strategy: StrategyName, clients: number): string | null {
  const refusal = secureStrategyProblem(strategy);
  if (refusal) return `secure aggregation: ${refusal}`;
  if (clients < SECURE_MIN_CLIENTS) {
    return `secure aggregation: needs at least ${SECURE_MIN_CLIENTS} clients, got ${clients}`;
  }
  return null;
}

/**
 * DP under secure aggregation for one in-tab round of `members` clients (all of them: q = 1): the
 * aggregator's engine (src/core/privacy/secure-round-privacy.ts) with the in-tab round's smallest member
 * count. Throws a PrivacyError when the noise cannot be planned (adaptive clipping, a ring overflow).
 */
export function inTabSecurePrivacy(
  ledger: PrivacyLedger,
  members: number,
  modelSize: number,
  settings: SecureSettings,
): SecureRoundPrivacy {
  return secureRoundPrivacy(ledger, members, members, {
    dimension: modelSize,
    minMembers: SECURE_MIN_CLIENTS,
    graph: secureGraph(settings),
  });
}

export interface SecureClient {
  index: number;
  id: string;
  peer: PortPeer;
  conn: ServerConnection;
}

interface RoundHandler {
  frame(c: SecureClient, msg: ClientMessage): void;
  refuse(c: SecureClient, reason: string, message: string): void;
  leave(c: SecureClient): void;
}

async function sendTo(c: SecureClient, msg: ServerMessage): Promise<void> {
  c.peer.send(await c.conn.channel.seal(encodeFrame(msg)));
}

/** Reads every client's frames for the whole run and hands them to the open round (none: dropped). */
export class SecureInbox {
  current: RoundHandler | null = null;

  constructor(clients: readonly SecureClient[], maxFrameBytes: number, signal: AbortSignal) {
    for (const c of clients) void this.read(c, maxFrameBytes, signal);
  }

  private async read(c: SecureClient, maxFrameBytes: number, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        const wire = await c.peer.next(signal);
        if (!wire) {
          this.current?.leave(c);
          return;
        }
        let msg: ClientMessage;
        try {
          msg = decodeClientFrame(await c.conn.channel.open(wire), { maxFrameBytes });
        } catch (e) {
          const reason = e instanceof ProtocolError ? e.reason : 'malformed';
          this.current?.refuse(c, reason, (e as Error).message);
          continue;
        }
        this.current?.frame(c, msg);
      }
    } catch (e) {
      if (!(e instanceof StoppedError)) throw e;
    }
  }
}

export interface SecureRoundRun {
  clients: readonly SecureClient[];
  inbox: SecureInbox;
  session: string;
  round: number;
  /** The encoded `round` frame (with `secagg`), sent to every client first. */
  frame: Uint8Array;
  modelSize: number;
  /** The ring the members encode in: clip C and weight cap W (the largest shard; 1 under DP). */
  ring: RingParams;
  graph: GraphParams;
  aggregator: Pick<RoundAggregator, 'add'>;
  /** The recovered sum before the strategy gets it (DP: the ledger charges the round, or refuses the sum). */
  onRecovered?(result: { contributors: readonly string[] }): void;
  deadlineMs: number;
  signal: AbortSignal;
  onTraining(c: SecureClient): void;
}

/** What a secure in-tab round gave: its contributors (empty when it failed), why it failed, its refusals. */
export interface SecureRoundEnd {
  contributors: string[];
  failure: string | null;
  refused: Refusal[];
  /** What this side (the aggregator) saw, for the class: null when the round failed (secure-view.ts). */
  view: SecureRoundView | null;
}

/** Runs one secure round to its end (the sum added to `aggregator`, or a failure without one). */
export async function runSecureRound(run: SecureRoundRun): Promise<SecureRoundEnd> {
  const byId = new Map(run.clients.map((c) => [c.id, c]));
  const refused: Refusal[] = [];
  const refuse = (c: SecureClient, reason: string, message: string) => {
    refused.push({ client: c.id, reason, message });
  };
  let settle!: (end: { contributors: string[]; failure: string | null }) => void;
  const ended = new Promise<{ contributors: string[]; failure: string | null }>((ok) => {
    settle = ok;
  });
  const secure = new SecureRound({
    session: fromHex(run.session),
    round: run.round,
    vectorLength: run.modelSize,
    ring: run.ring,
    graph: run.graph,
    minMembers: SECURE_MIN_CLIENTS,
    members: run.clients.map((c) => c.id),
    identityOf: (id) => byId.get(id)?.conn.peerIdentity,
    timers: {
      set: (fn, ms) => setTimeout(fn, ms),
      clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    },
    deadlines: secureRoundDeadlines(run.deadlineMs),
    send: (to, payload) => {
      const c = byId.get(to);
      if (c) void sendTo(c, { type: 'secagg', round: run.round, payload }).catch(() => {});
    },
    onEnd: (o) =>
      settle(
        o.ok
          ? { contributors: o.result.contributors, failure: null }
          : { contributors: [], failure: `${o.reason} in phase ${o.phase}: ${o.message}` },
      ),
    aggregator: run.aggregator,
    ...(run.onRecovered && { onRecovered: run.onRecovered }),
  });
  run.inbox.current = {
    frame(c, msg) {
      if (msg.type === 'secagg' && msg.round === run.round) {
        const took = secure.receive(c.id, msg.payload);
        if (!took.accepted) refuse(c, took.reason, took.message);
        return;
      }
      const why =
        msg.type === 'sealed-update'
          ? `round ${run.round} is a secure round: a plain sealed update is refused`
          : `expected a secagg frame for round ${run.round}, got "${msg.type}"`;
      refuse(c, msg.type === 'sealed-update' ? 'wrong-context' : 'stale', why);
    },
    refuse,
    leave(c) {
      secure.leave(c.id);
    },
  };
  const onAbort = () => secure.abort('stopped');
  run.signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (const c of run.clients) {
      run.onTraining(c);
      c.peer.send(await c.conn.channel.seal(run.frame));
    }
    secure.start();
    const end = await ended;
    for (const id of end.contributors) await sendTo(byId.get(id)!, { type: 'ack', round: run.round });
    return { ...end, refused, view: secure.view };
  } catch (e) {
    if (e instanceof SecAggError) return { contributors: [], failure: e.message, refused, view: null };
    throw e;
  } finally {
    run.signal.removeEventListener('abort', onAbort);
    secure.abort('the round is over');
    run.inbox.current = null;
  }
}
