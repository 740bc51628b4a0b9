/**
 * The secure-round tests' shared parts (test/secure-aggregation.test.ts, test/secure-privacy.test.ts): a
 * real aggregator with raw clients that is closed after each test, and the client side of one SecAgg+
 * round played by a real SecAggClient over a raw connection.
 */
import type { RoundRecord } from '../src/aggregator/checkpoint.ts';
import { encodeFrame, type ServerMessage } from '../src/core/protocol.ts';
import { SecAggClient, type SecAggClientOptions } from '../src/core/secagg/client.ts';
import { encodeMessage } from '../src/core/secagg/messages.ts';
import { fromHex } from '../src/crypto/bytes.ts';
import {
  joinRaw,
  type RawConnection,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
} from './federation.ts';

/** When a member leaves a round by closing its socket: before its masked input, or after it. */
export type Leave = 'before-input' | 'after-input';

/** The message type a SecAgg payload carries (its 4th byte: position in SECAGG_MESSAGE_TYPES + 1). */
const RELAY = 5;
const SURVIVORS = 7;

type RoundFrame = Extract<ServerMessage, { type: 'round' }>;

/** What a member puts into the round, and how it takes part. */
export interface SecurePart {
  update: Float32Array;
  /** The weight of its update. */
  numSamples: number;
  leave?: Leave | undefined;
  /** Its noise hook, from the round frame's secagg info (DP under secure aggregation). */
  noise?: (info: NonNullable<RoundFrame['secagg']>) => SecAggClientOptions['noise'];
}

/**
 * Runs `c`'s SecAgg+ part of the next (secure) round, answering with `part.update`, leaving as told; gives
 * back the round frame's fit settings and secagg info.
 */
export async function playSecureRound(c: RawConnection, part: SecurePart) {
  const round = await c.nextOf('round');
  const info = round.secagg!;
  const { session, clientId } = c.joined();
  const sa = new SecAggClient({
    clientId,
    identity: c.identity,
    context: { session: fromHex(session), round: round.round },
    ...(part.noise && { noise: part.noise(info) }),
  });
  const send = async (bytes: Uint8Array[]) => {
    for (const payload of bytes) await c.send(encodeFrame({ type: 'secagg', round: round.round, payload }));
  };
  const { leave } = part;
  for (;;) {
    const m: ServerMessage = await c.next();
    if (m.type === 'ack' || (m.type === 'status' && m.phase === 'finished')) break;
    if (m.type !== 'secagg') continue;
    const kind = m.payload[3];
    if ((leave === 'before-input' && kind === RELAY) || (leave === 'after-input' && kind === SURVIVORS)) {
      c.ws.close();
      break;
    }
    await send(sa.handleBytes(m.payload));
    if (sa.phase === 'advertised')
      await send(sa.setInput(part.update, part.numSamples).map((x) => encodeMessage(x)));
    if (sa.phase === 'done' || sa.phase === 'aborted') break;
  }
  return { fit: round.fit, info };
}

/** A seeded pseudo-random vector, uniform in [−1, 1) (float64: scale it before rounding to float32). */
export function seededVector(n: number, seed: number): Float64Array {
  let x = seed * 2654435761;
  return Float64Array.from({ length: n }, () => {
    x = (Math.imul(x ^ (x >>> 15), 2246822507) + 0x6d2b79f5) >>> 0;
    return (x / 2 ** 32) * 2 - 1;
  });
}

/** The experiment settings of one secure round of `clients` members (quorum 2, 60 s, a miss closes it). */
export function secureExperiment(clients: number, overrides: Record<string, unknown> = {}) {
  return smallExperiment({
    rounds: 1,
    quorum: 2,
    roundDeadlineSeconds: 60,
    onQuorumMiss: 'close',
    secureAggregation: true,
    clientsPerRound: { fraction: 1, min: clients, max: clients },
    ...overrides,
  });
}

/**
 * One test's aggregator and raw connections: `start` starts the aggregator (recording the rounds that end,
 * and the model it starts from), `connect` joins a raw client; `close` (after each test) ends them all.
 */
export class SecureRoundBed {
  private t: TestAggregator | null = null;
  private readonly raws: RawConnection[] = [];

  async start(clients: number, overrides: Record<string, unknown> = {}) {
    const t = await startTestAggregator(await secureExperiment(clients, overrides));
    this.t = t;
    const ended: RoundRecord[] = [];
    t.agg.coordinator.on('round-end', (r: RoundRecord) => ended.push(r));
    return { t, ended, before: t.agg.coordinator.globalWeights() };
  }

  /** A raw connection to the running aggregator, joined with `numSamples` and `name` when given. */
  async connect(join?: { numSamples: number; name: string }): Promise<RawConnection> {
    const t = this.t!;
    const c = await rawConnection(t.url, t.spec);
    this.raws.push(c);
    if (join) await joinRaw(c, join.numSamples, join.name);
    return c;
  }

  async close(): Promise<void> {
    for (const c of this.raws.splice(0)) c.ws.close();
    await this.t?.agg.close();
    this.t = null;
  }
}
