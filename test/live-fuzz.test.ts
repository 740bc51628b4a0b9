/**
 * 10,000+ fuzzed frames against a live aggregator over real loopback sockets, each sealed on a real
 * channel (so it reaches the decoder, not just the channel's check): mutations of valid frames, arbitrary
 * headers and random bytes from test/frame-fuzz.ts, in bursts under the per-connection frame rate, over
 * many connections. Then the aggregator still serves: /healthz answers, and two legitimate clients
 * complete a round.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRUSTED_LOCAL_ADMISSION } from '../src/aggregator/handshake-admission.ts';
import { HOSTILE, PROTOCOL } from '../src/core/limits.ts';
import { encodeFrame } from '../src/core/protocol.ts';
import { generateIdentity } from '../src/crypto/identity.ts';
import {
  answerRound,
  getStatus,
  rawConnection,
  smallExperiment,
  startTestAggregator,
  type TestAggregator,
  twoClients,
  waitFor,
} from './federation.ts';
import { arbitraryHeader, headerMutated, mutate, mutation, validMessage } from './frame-fuzz.ts';

let t: TestAggregator;

beforeAll(async () => {
  // The fuzz aims at the decoder behind the channel, over ~300 connections from one address: the upgrade
  // admission limits (tested in test/hostile-*.test.ts) are relaxed as for simulate's own clients.
  t = await startTestAggregator(
    await smallExperiment({
      autoStart: false,
      rounds: 1,
      quorum: 2,
      clientsPerRound: { fraction: 1, min: 2, max: 2 },
    }),
    undefined,
    undefined,
    { admission: TRUSTED_LOCAL_ADMISSION },
  );
}, 60_000);
afterAll(async () => {
  await t.agg.close();
});

const FRAMES = 10_000;
/** Frames per connection: one burst, below PROTOCOL.maxFramesPerSecond. */
const PER_CONNECTION = PROTOCOL.maxFramesPerSecond - 10;
const PARALLEL = 8;

/** The fuzzed frames, generated up front with a fixed seed. */
function frames(): Uint8Array[] {
  const leaveless = validMessage.filter((m) => m.type !== 'leave');
  const arb = fc.oneof(
    fc
      .tuple(leaveless, fc.array(mutation, { minLength: 1, maxLength: 3 }))
      .map(([m, ms]) => mutate(encodeFrame(m), ms)),
    headerMutated,
    arbitraryHeader,
    fc.uint8Array({ maxLength: 120 }),
  );
  return fc.sample(arb, { numRuns: FRAMES, seed: 7 });
}

describe('a live aggregator under fuzzed frames', () => {
  it('takes 10,000 sealed fuzzed frames without a crash, then serves legitimate clients', async () => {
    const all = frames();
    const identity = generateIdentity(); // one key for all fuzz connections: no keygen in the loop
    let sent = 0;
    let connections = 0;
    let next = 0;
    const t0 = Date.now();
    const worker = async () => {
      for (;;) {
        const start = next;
        next += PER_CONNECTION;
        if (start >= all.length) return;
        const burst = all.slice(start, start + PER_CONNECTION);
        while (burst.length) {
          const c = await rawConnection(t.url, t.spec, identity);
          connections++;
          // The server finishes its side of the handshake in the crypto pool: frames before that beyond
          // the one it holds close the connection (frame-flood), so give it a moment.
          await new Promise((ok) => setTimeout(ok, 25));
          // A frame that still decodes as "leave" ends the connection: the rest go on a new one.
          // In groups the server queues per connection (HOSTILE.maxQueuedFrames), with a breath between.
          while (burst.length && !c.closed()) {
            for (let i = 0; i < HOSTILE.maxQueuedFrames && burst.length && !c.closed(); i++) {
              await c.send(burst.shift()!);
              sent++;
            }
            await new Promise((ok) => setTimeout(ok, 10));
          }
          // Let the server read the burst before the socket closes.
          await new Promise((ok) => setTimeout(ok, 50));
          c.ws.close();
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    const seconds = (Date.now() - t0) / 1000;
    expect(sent).toBe(FRAMES);
    expect((await fetch(`http://127.0.0.1:${t.agg.port}/healthz`)).status).toBe(200);
    const refusals = (await getStatus(t)).refusals;
    const refused = Object.values(refusals).reduce<number>((sum, n) => sum + (n ?? 0), 0);
    expect(refusals['rate-limit'] ?? 0).toBe(0);
    console.log(
      `live fuzz: ${sent} sealed frames over ${connections} connections in ${seconds.toFixed(1)} s; ` +
        `${refused} refusals ${JSON.stringify(refusals)}`,
    );
    expect(refused).toBeGreaterThan(FRAMES / 2);

    // Still serving: two legitimate clients join and complete a round.
    await waitFor(() => t.agg.coordinator.status(null).clients === 0, 10_000, 'the fuzz clients to leave');
    const { a, b, size } = await twoClients(t);
    t.agg.coordinator.start();
    await Promise.all([a, b].map(async (c) => answerRound(c, size).then(() => c.nextOf('ack'))));
    await waitFor(() => t.agg.coordinator.roundsCompleted === 1, 20_000, 'the legitimate round');
    expect((await getStatus(t)).history[0]!.participants).toBe(2);
  }, 120_000);
});
