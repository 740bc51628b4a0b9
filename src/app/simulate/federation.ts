/**
 * The aggregator's side of the in-tab federation: one configuration (strategy, partition) run for R rounds
 * with N virtual clients, with the real cryptography and no network. It runs on the page's thread; the
 * clients are the real `FederatedClient` in workers (see workers/federation.worker.ts), each reached over
 * its own MessagePort (port-socket.ts).
 *
 * Per client: the two-message post-quantum handshake (`pqServerChannels(...).begin` → ServerHello,
 * ClientHello → `finish`, which proves the client's ML-DSA-65 key), then every frame sealed by that session
 * channel: the client's `hello`, the `welcome`, and per round the `round` frame (the global weights with a
 * fresh round key and the server's signatures over both, from `openRound`), the client's `sealed-update`
 * (its update frame sealed to the round key and signed with its key), and `ack` or `refused`.
 * Per round, each update goes through the round core's intake, as on the aggregator (src/core/round/intake.ts):
 * opened and verified (`ServerRound.open`, against the key its handshake proved and its client id) before it
 * is parsed and folded into the strategy (`createStrategy(...).begin(...)`); a refused update is counted by
 * reason and never reaches the aggregate. The fit settings are the core's too (`roundFitSettings`).
 * The new global model is evaluated on the held-out rows (by the caller, in a worker).
 *
 * Clients of one worker slot train one after another, slots in parallel: as many trainings at once as
 * there are slots. Pure of DOM and tfjs, so it runs under Node in tests with in-process clients.
 */
import type { ServerConnection } from '../../core/channel.ts';
import { maxFrameBytes } from '../../core/limits.ts';
import {
  beginRound,
  finiteOrNull,
  PrivacyLedger,
  type PrivacySettings,
  privateStrategyProblem,
  withClipNorm,
} from '../../core/privacy/ledger.ts';
import { PrivacyError } from '../../core/privacy/rdp.ts';
import {
  type ClientMessage,
  cryptoRefusalReason,
  decodeClientFrame,
  type ExperimentInfo,
  encodeFrame,
  isRefusalReason,
  ProtocolError,
  type RefusalReason,
  type ServerMessage,
} from '../../core/protocol.ts';
import type { Evaluation } from '../../core/round/evaluation.ts';
import { roundFitSettings } from '../../core/round/fit-settings.ts';
import { admitUpdate, type IntakeRound, type OpenedUpdate, openUpdate } from '../../core/round/intake.ts';
import { secureGraph } from '../../core/round/secure-round.ts';
import type { SecureRoundView } from '../../core/round/secure-view.ts';
import { SecAggError } from '../../core/secagg/errors.ts';
import { createStrategy, type RoundAggregator } from '../../core/strategies/index.ts';
import { toHex } from '../../crypto/bytes.ts';
import { parseUpdate } from '../../crypto/envelope.ts';
import type { Identity } from '../../crypto/identity.ts';
import { pqServerChannels } from '../../crypto/pq-channels.ts';
import { randomBytes } from '../../crypto/random.ts';
import type { KemSuite } from '../../crypto/suites.ts';
import type { EncodedData } from '../../data/features.ts';
import type { ConfigSpec } from './options.ts';
import { type PortPeer, StoppedError } from './port-socket.ts';
import type { Refusal, RoundResult } from './results.ts';
import {
  inTabSecurePrivacy,
  runSecureRound,
  SecureInbox,
  type SecureRoundEnd,
  type SecureSettings,
  secureProblem,
} from './secure-federation.ts';

/** The evaluation of a global model (src/core/round/evaluation.ts), re-exported for the worker and tests. */
export type { Evaluation };

export interface FederationEnv {
  /** The aggregator's long-term ML-DSA-65 identity (clients pin its fingerprint). */
  identity: Identity;
  suite: KemSuite;
  /** Sent to every client in `welcome` (model config, fitted preprocessor, model size, dataset). */
  experiment: Omit<ExperimentInfo, 'strategy' | 'rounds'>;
  initialWeights: Float32Array;
  /** Evaluates a global model on the held-out rows. */
  evaluate(weights: Float32Array): Promise<Evaluation>;
  /**
   * Starts virtual client `index` (its own key, training `shard`, pinned to `serverFingerprint`) on the far
   * end of a new port; returns the aggregator's end.
   */
  connect(index: number, shard: EncodedData, serverFingerprint: string): Promise<PortPeer>;
  /** Worker slots: client i trains in slot i mod slots; one training per slot at a time. */
  slots: number;
}

export interface RunPlan {
  rounds: number;
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  seed: number;
  proxMu: number;
  /** Test hook: flip one byte inside this client's envelope in this round, before the aggregator opens it. */
  tamper: { round: number; client: number } | null;
  /**
   * Client-level DP (the aggregator's PrivacyLedger); null: off. Without `secure` this side adds Gaussian
   * noise to the sum; with it the clients add Skellam shares in the ring and this side adds none.
   */
  privacy: PrivacySettings | null;
  /** Secure aggregation (SecAgg+, secure-federation.ts); null or absent: off. */
  secure?: SecureSettings | null;
}

export type FederationEvent =
  | { kind: 'connecting'; clients: number }
  | { kind: 'round-start'; round: number }
  | { kind: 'training'; round: number; client: number }
  | { kind: 'update'; round: number; client: number; accepted: boolean; reason?: string }
  | { kind: 'evaluating'; round: number }
  /** The privacy budget stopped the run before `round` (the ledger's reason). */
  | { kind: 'budget-stop'; round: number; reason: string }
  /** Under secure aggregation: what the aggregator saw in `round` (one masked input beside the sum). */
  | { kind: 'secure-view'; view: SecureRoundView }
  | { kind: 'round-end'; result: RoundResult };

/** The refusal reason for an envelope that did not open, as the aggregator reports it. */
export const refusalReason = cryptoRefusalReason;

/**
 * The test hook's tampering: a copy of `envelope` with one bit flipped in the middle of its AES-GCM
 * ciphertext, which the aggregator must refuse as 'tampered'.
 */
export function flipSealedByte(envelope: Uint8Array, maxPayloadBytes: number): Uint8Array {
  const u = parseUpdate(envelope, maxPayloadBytes);
  const at = u.sealed.byteOffset - envelope.byteOffset + (u.sealed.length >> 1);
  const out = envelope.slice();
  out[at] = out[at]! ^ 0x01;
  return out;
}

interface Client {
  index: number;
  id: string;
  peer: PortPeer;
  conn: ServerConnection;
  numSamples: number;
}

const DEADLINE_MS = 10 * 60 * 1000;

/** Runs one configuration; resolves with its rounds, or throws StoppedError when `signal` fires. */
export async function runConfiguration(
  env: FederationEnv,
  plan: RunPlan,
  spec: ConfigSpec,
  shards: EncodedData[],
  onEvent: (e: FederationEvent) => void,
  signal: AbortSignal,
): Promise<RoundResult[]> {
  const server = pqServerChannels(env.identity, env.suite);
  const session = toHex(randomBytes(16));
  const refusedStrategy = plan.privacy ? privateStrategyProblem(spec.strategy) : null;
  if (refusedStrategy) throw new PrivacyError(`"strategy" ${refusedStrategy}`);
  if (plan.secure) {
    const problem = secureProblem(spec.strategy, shards.length);
    if (problem) throw new SecAggError('bad-config', problem);
  }
  const strategy = createStrategy(spec.strategy, { proxMu: plan.proxMu });
  const privacy = plan.privacy ? new PrivacyLedger(plan.privacy, () => plan.rounds) : null;
  const modelSize = env.experiment.modelSize;
  const maxFrame = maxFrameBytes(modelSize);
  const clients: Client[] = [];
  const stopped = () => {
    if (signal.aborted) throw new StoppedError();
  };
  try {
    onEvent({ kind: 'connecting', clients: shards.length });
    const joined = await Promise.all(
      shards.map((shard, index) => join(env, server, session, index, shard, maxFrame, signal, clients)),
    );
    for (const c of joined) {
      const welcome: ServerMessage = {
        type: 'welcome',
        session,
        clientId: c.id,
        round: 0,
        phase: 'waiting',
        experiment: { ...env.experiment, strategy: spec.strategy, rounds: plan.rounds },
      };
      await sendTo(c, welcome);
    }
    const active = joined.filter((c) => c.numSamples > 0);
    // Under SecAgg one reader per client for the whole run hands every frame to the open round.
    const inbox = plan.secure ? new SecureInbox(active, maxFrame, signal) : null;
    const maxWeight = Math.max(1, ...active.map((c) => c.numSamples));
    let global: Float32Array = env.initialWeights.slice();
    let version = 0;
    const results: RoundResult[] = [];
    let last = 0;
    for (let round = 1; round <= plan.rounds; round++) {
      stopped();
      // Every active client trains every round: q = 1. A round that would cross the target ε does not start.
      const overBudget = privacy?.refusal(active.length, active.length) ?? null;
      if (overBudget) {
        onEvent({ kind: 'budget-stop', round, reason: overBudget });
        break;
      }
      // DP under SecAgg: the clients add the noise (the plan goes out in the round frame), this side none.
      // A plan that cannot be kept (adaptive clipping, a ring overflow) throws here, before the round opens.
      const securePrivacy =
        plan.secure && privacy ? inTabSecurePrivacy(privacy, active.length, modelSize, plan.secure) : null;
      last = round;
      onEvent({ kind: 'round-start', round });
      const startedAt = performance.now();
      const bytesBefore = traffic(joined);
      let cryptoMs = 0;
      const keyedAt = performance.now();
      const crypto = await server.openRound({ session, round, version, weights: global });
      cryptoMs += performance.now() - keyedAt;
      strategy.setPopulation?.(active.length); // FedDyn's m
      const aggregator = securePrivacy
        ? strategy.begin(round, global)
        : beginRound(privacy, strategy, round, global, active.length, active.length);
      const fit = withClipNorm(
        roundFitSettings({ ...plan, learningRateDecay: 'cosine' }, round, strategy.fitConfig(round)),
        privacy,
      );
      const intake: IntakeRound = { round, version, modelSize, maxFrameBytes: maxFrame };
      const frame = encodeFrame({
        type: 'round',
        round,
        version,
        deadlineMs: DEADLINE_MS,
        fit,
        seal: crypto.seal,
        ...(plan.secure && { secagg: securePrivacy?.info ?? {} }),
        weights: global,
      });
      const refused: Refusal[] = [];
      let secureEnd: SecureRoundEnd | null = null;
      const losses: number[] = [];
      const one = async (c: Client): Promise<void> => {
        stopped();
        onEvent({ kind: 'training', round, client: c.index });
        c.peer.send(await c.conn.channel.seal(frame));
        const refuse = async (reason: string, message: string) => {
          refused.push({ client: c.id, reason, message });
          onEvent({ kind: 'update', round, client: c.index, accepted: false, reason });
          await sendTo(c, { type: 'refused', reason: protocolReason(reason), message, round });
        };
        const wire = await c.peer.next(signal);
        if (!wire) {
          aggregator.fail({ clientId: c.id, reason: 'disconnected' });
          refused.push({ client: c.id, reason: 'disconnected', message: 'the client closed its port' });
          onEvent({ kind: 'update', round, client: c.index, accepted: false, reason: 'disconnected' });
          return;
        }
        let msg: ClientMessage;
        try {
          msg = decodeClientFrame(await c.conn.channel.open(wire), { maxFrameBytes: maxFrame });
        } catch (e) {
          const reason = e instanceof ProtocolError ? e.reason : `channel-${refusalReason(e)}`;
          return refuse(reason, (e as Error).message);
        }
        if (msg.type !== 'sealed-update' || msg.round !== round) {
          const got = msg.type === 'sealed-update' ? `an update for round ${msg.round}` : `"${msg.type}"`;
          return refuse('stale', `expected the update for round ${round}, got ${got}`);
        }
        let envelope = msg.envelope;
        if (plan.tamper?.round === round && plan.tamper.client === c.index) {
          envelope = flipSealedByte(envelope, maxFrame);
        }
        const openedAt = performance.now();
        let opened: OpenedUpdate;
        try {
          opened = await openUpdate(crypto, envelope, intake, {
            clientId: c.id,
            publicKey: c.conn.peerIdentity,
          });
        } finally {
          cryptoMs += performance.now() - openedAt;
        }
        if (!opened.accepted) return refuse(opened.reason, opened.message);
        // A client weighs at most what it declared when it joined.
        const u = admitUpdate(
          opened.plain,
          intake,
          { clientId: c.id, declaredSamples: c.numSamples },
          aggregator,
        );
        if (!u.accepted) return refuse(u.reason, u.message);
        losses.push(u.metrics.loss);
        onEvent({ kind: 'update', round, client: c.index, accepted: true });
        await sendTo(c, { type: 'ack', round });
      };
      try {
        if (plan.secure && inbox) {
          secureEnd = await runSecureRound({
            clients: active,
            inbox,
            session,
            round,
            frame,
            modelSize,
            ring: securePrivacy?.ring ?? { clip: plan.secure.clip, maxWeight },
            graph: secureGraph(plan.secure),
            aggregator,
            ...(securePrivacy && { onRecovered: securePrivacy.onRecovered }),
            deadlineMs: DEADLINE_MS,
            signal,
            onTraining: (c) => onEvent({ kind: 'training', round, client: c.index }),
          });
          refused.push(...secureEnd.refused);
          if (secureEnd.view) onEvent({ kind: 'secure-view', view: secureEnd.view });
          const inSum = new Set(secureEnd.contributors);
          for (const c of active) {
            const accepted = inSum.has(c.id);
            onEvent({
              kind: 'update',
              round,
              client: c.index,
              accepted,
              ...(!accepted && { reason: secureEnd.failure ? 'secure-round-failed' : 'dropped' }),
            });
          }
        } else await bySlot(active, env.slots, one);
      } finally {
        crypto.close();
      }
      stopped();
      const result = await closeRound(aggregator, round, active.length, async (next) => {
        onEvent({ kind: 'evaluating', round });
        const e = await env.evaluate(next);
        global = next;
        version = round;
        return e;
      });
      const bytesAfter = traffic(joined);
      // Under SecAgg the strategy took one summed update: its participants are the sum's contributors.
      if (secureEnd && result.outcome === 'aggregated') result.participants = secureEnd.contributors.length;
      Object.assign(result, {
        refused,
        meanLocalLoss: losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
        seconds: (performance.now() - startedAt) / 1000,
        cryptoSeconds: cryptoMs / 1000,
        bytesUp: bytesAfter.up - bytesBefore.up,
        bytesDown: bytesAfter.down - bytesBefore.down,
        ...(privacy && { epsilon: finiteOrNull(privacy.epsilon) }),
      });
      results.push(result);
      onEvent({ kind: 'round-end', result });
    }
    for (const c of joined) {
      await sendTo(c, {
        type: 'status',
        phase: 'finished',
        round: last,
        message: `the in-tab federation is finished after ${last} rounds`,
      });
    }
    return results;
  } finally {
    for (const c of clients) c.peer.close(1000, 'finished');
  }
}

/** Handshake and hello of client `index`. */
async function join(
  env: FederationEnv,
  server: ReturnType<typeof pqServerChannels>,
  session: string,
  index: number,
  shard: EncodedData,
  maxFrame: number,
  signal: AbortSignal,
  all: Client[],
): Promise<Client> {
  const peer = await env.connect(index, shard, server.fingerprint);
  const id = `sim-${index + 1}`;
  const partial = { index, id, peer } as Client;
  all.push(partial);
  const hs = await server.begin(session);
  peer.send(hs.hello);
  const reply = await peer.next(signal);
  if (!reply) throw new Error(`client ${id} closed its port during the handshake`);
  const conn = await hs.finish(reply);
  const wire = await peer.next(signal);
  if (!wire) throw new Error(`client ${id} closed its port before saying hello`);
  const hello = decodeClientFrame(await conn.channel.open(wire), { maxFrameBytes: maxFrame });
  if (hello.type !== 'hello') throw new Error(`client ${id}: expected hello, got "${hello.type}"`);
  partial.conn = conn;
  partial.numSamples = hello.numSamples;
  return partial;
}

async function sendTo(c: Client, msg: ServerMessage): Promise<void> {
  c.peer.send(await c.conn.channel.seal(encodeFrame(msg)));
}

/** The reason a `refused` frame may carry (channel- and disconnection reasons are reported as malformed). */
function protocolReason(reason: string): RefusalReason {
  return isRefusalReason(reason) ? reason : 'malformed';
}

function traffic(clients: Client[]): { up: number; down: number } {
  let up = 0;
  let down = 0;
  for (const c of clients) {
    up += c.peer.bytesIn;
    down += c.peer.bytesOut;
  }
  return { up, down };
}

/** Runs `task` for every client: clients of one slot one after another, slots in parallel. */
export async function bySlot<T extends { index: number }>(
  clients: readonly T[],
  slots: number,
  task: (c: T) => Promise<void>,
): Promise<void> {
  const lanes = new Map<number, T[]>();
  for (const c of clients) {
    const s = c.index % slots;
    lanes.set(s, [...(lanes.get(s) ?? []), c]);
  }
  await Promise.all(
    [...lanes.values()].map(async (lane) => {
      for (const c of lane) await task(c);
    }),
  );
}

/** Aggregates and evaluates a round that has updates; a round with none is closed with the model unchanged. */
async function closeRound(
  aggregator: RoundAggregator,
  round: number,
  selected: number,
  adopt: (next: Float32Array) => Promise<Evaluation>,
): Promise<RoundResult> {
  const base: RoundResult = {
    round,
    selected,
    participants: aggregator.accepted,
    outcome: 'closed',
    accuracy: null,
    macroF1: null,
    mosMAE: null,
    loss: null,
    perClassRecall: null,
    meanLocalLoss: null,
    refused: [],
    seconds: 0,
    cryptoSeconds: 0,
    bytesUp: 0,
    bytesDown: 0,
  };
  if (aggregator.accepted === 0) return { ...base, participants: 0 };
  const next = aggregator.finish();
  const e = await adopt(next);
  return {
    ...base,
    outcome: 'aggregated',
    accuracy: e.accuracy,
    macroF1: e.macroF1,
    mosMAE: e.mosMAE,
    loss: e.loss,
    perClassRecall: e.perClassRecall,
  };
}
