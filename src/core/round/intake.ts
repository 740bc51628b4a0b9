/**
 * The intake of one client's update into an open round, transport-neutral: open the sealed envelope
 * (decrypt, then verify its signature against the key the client's connection proved and its client id),
 * and only then parse the frame inside, check it was trained for this round from this model version, cap
 * the weight it claims, and fold it into the strategy's round. Every way an update can fail ends as a
 * refusal with a protocol reason (`RefusalReason`) and a message: failures are data, never thrown, so the
 * caller counts them, answers the client and goes on. Anything else (a bug) is thrown.
 *
 * Two steps, because an aggregator may have to re-check its own state while the opening (the slow,
 * asynchronous part) was under way: `openUpdate`, then `admitUpdate`. Used by the aggregator's coordinator
 * (src/aggregator/coordinator.ts) and the in-tab federation (src/app/simulate/federation.ts).
 *
 * Pure: no timers, no I/O, no Node or DOM API; the envelope opener comes in as an argument (a round's
 * `ServerRound.open`, src/core/channel.ts), the round's state as plain data.
 */
import type { ServerRound } from '../channel.ts';
import {
  cryptoRefusalReason,
  decodeUpdateFrame,
  type LocalMetrics,
  ProtocolError,
  type RefusalReason,
} from '../protocol.ts';
import { type RoundAggregator, StrategyError } from '../strategies/index.ts';

/** An update the round did not take: the reason the `refused` frame carries, and a message for people. */
export interface UpdateRefusal {
  accepted: false;
  reason: RefusalReason;
  message: string;
}

/** An update the round took: the weight it was given and the client's local metrics. */
export interface AcceptedUpdate {
  accepted: true;
  numSamples: number;
  metrics: LocalMetrics;
}

/** An envelope that opened (its plaintext update frame, not yet parsed), or the refusal. */
export type OpenedUpdate = { accepted: true; plain: Uint8Array } | UpdateRefusal;

/** The open round an update is checked against. */
export interface IntakeRound {
  round: number;
  /** The global model version the round started from (the update's `baseVersion` must say it). */
  version: number;
  modelSize: number;
  /** The largest plaintext frame accepted (`maxFrameBytes(modelSize)`, src/core/limits.ts). */
  maxFrameBytes: number;
}

/** Who sent the update, as the connection authenticated them: the id it registered and the key it proved. */
export interface IntakeSender {
  clientId: string;
  /** The long-term public key the client's connection proved in its handshake. */
  publicKey: Uint8Array;
}

/** Who sent the update, as the round weighs them (read after the opening: a `ready` may change them). */
export interface IntakeClient {
  clientId: string;
  /** The samples it declared when it joined: an update weighs no more (at least 1). */
  declaredSamples: number;
  /** A further cap on its weight (its assigned shard's rows, or PROTOCOL.maxSamplesPerClient); none if absent. */
  sampleCap?: number;
}

/**
 * Opens `envelope` with the round's key (`keys.open`): the plaintext update frame, or the refusal (reason from
 * the crypto error's `reason`, src/core/protocol.ts `cryptoRefusalReason`).
 */
export async function openUpdate(
  keys: Pick<ServerRound, 'open'>,
  envelope: Uint8Array,
  round: Pick<IntakeRound, 'maxFrameBytes'>,
  client: IntakeSender,
): Promise<OpenedUpdate> {
  try {
    const plain = await keys.open(
      envelope,
      { clientId: client.clientId, publicKey: client.publicKey },
      round.maxFrameBytes,
    );
    return { accepted: true, plain };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return refusal(cryptoRefusalReason(e), `sealed update from ${client.clientId} refused: ${why}`);
  }
}

/**
 * Parses the opened frame `plain`, checks its round and base version against `round`, caps its sample count
 * and adds it to `aggregator`: the accepted update, or the refusal ('wrong-context' for another round or
 * version, the decoder's reason for a bad frame, 'malformed' for one the strategy rejects).
 */
export function admitUpdate(
  plain: Uint8Array,
  round: IntakeRound,
  client: IntakeClient,
  aggregator: Pick<RoundAggregator, 'add'>,
): AcceptedUpdate | UpdateRefusal {
  let u: ReturnType<typeof decodeUpdateFrame>;
  try {
    u = decodeUpdateFrame(plain, { maxFrameBytes: round.maxFrameBytes, modelSize: round.modelSize });
  } catch (e) {
    if (e instanceof ProtocolError) return refusal(e.reason, e.message);
    throw e;
  }
  if (u.round !== round.round || u.baseVersion !== round.version) {
    return refusal(
      'wrong-context',
      `update: the sealed frame says round ${u.round} from version ${u.baseVersion}, its envelope round ` +
        `${round.round} from version ${round.version}`,
    );
  }
  const numSamples = cappedSamples(u.numSamples, client);
  try {
    aggregator.add({ clientId: client.clientId, delta: u.delta, numSamples });
  } catch (e) {
    if (e instanceof StrategyError) return refusal('malformed', e.message);
    throw e;
  }
  return { accepted: true, numSamples, metrics: u.metrics };
}

/**
 * The weight of an update that claims `claimed` samples: at most what its client declared when it joined
 * (no inflating its weight afterwards; at least 1), and at most its `sampleCap`.
 */
export function cappedSamples(
  claimed: number,
  client: Pick<IntakeClient, 'declaredSamples' | 'sampleCap'>,
): number {
  const declared = Math.min(claimed, Math.max(1, client.declaredSamples));
  return client.sampleCap === undefined ? declared : Math.min(declared, client.sampleCap);
}

function refusal(reason: RefusalReason, message: string): UpdateRefusal {
  return { accepted: false, reason, message };
}
