/**
 * Does opening sealed updates stall the aggregator's event loop? A real aggregator (`startAggregator`, the
 * default model, the embedded TON_IoT sample, 2,000 training rows, 200 test rows, one round of exactly N
 * clients, quorum N, a 600 s deadline, auto-start) runs in this process; N raw sealed clients (the real
 * handshake, X-Wing + ML-DSA-65, one identity each) join it from a worker thread. When every client has the
 * round-1 model, each pre-seals its update (small random weights, sealed to the round key and signed, then
 * sealed on its channel), so that the burst measures the server's work only; then all N are sent at once.
 *
 * Measured on the server's (main) thread from the first send to the N-th verified update (the moment the
 * coordinator has opened, checked and folded all N; the round's evaluation that follows is excluded):
 * - `perf_hooks.monitorEventLoopDelay` (5 ms resolution): p50, p99 and max delay;
 * - event-loop utilisation (the share of the window the main thread was busy);
 * - the latency of `GET /api/status`, issued every 50 ms from the client thread (so a stalled server
 *   delays the answer, not the request), over the requests issued in the window: p50, p99, max;
 * - wall time and verified updates per second (N / wall time), and the time to the last `ack`.
 * The same delay figures are shown for the join phase (N handshakes and hellos): server crypto too (a KEM
 * key generation, a signature, a verification and a decapsulation per connection), which runs in the same
 * pool as the updates unless `--threads 0`.
 *
 * The clients live in one worker thread, not on the server's thread: during the burst their work is
 * sending the pre-sealed frames and opening N small acks, which competes for CPU with the server but never
 * blocks its event loop. On a 2-core machine the client thread, the server's thread and its pool's
 * workers share the cores. More than 250 clients connect from several loopback addresses (127.0.0.x: the
 * server allows 256 connections per address).
 *
 * `--threads T` sets the server's crypto threads (`serverChannelsFor`'s `openThreads`): 0 runs handshakes
 * and opens updates on the main thread (the old way), the default is the pool's default (available cores − 1, at least 1); the
 * pool's threads start when round 1 opens, before the burst. Besides the update crypto, the main thread
 * still receives every frame (ws unmasks client frames in JavaScript unless the optional `bufferutil` addon
 * is installed), opens it on the connection's channel (AES-GCM, WebCrypto) and decodes and folds it.
 * Prints a table on stderr and one JSON object on stdout; with DEBUG=1 also every /api/status poll (seconds
 * since the first send : latency in ms).
 * The burst itself (the aggregator, the clients' thread) is src/bench/aggregator.ts and
 * src/bench/burst-clients.ts, shared with `pqfed bench`; this script adds the event-loop figures.
 * Run: `npx tsx bench/event-loop.ts [--clients 200] [--threads T]`.
 */
import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { EMBEDDED_SAMPLE } from '../src/aggregator/config.ts';
import { burstExperiment, runUpdateBurst } from '../src/bench/aggregator.ts';
import { loadTable } from '../src/cli/import.ts';
import { useBackend } from '../src/model/backend.ts';

function quantile(xs: number[], q: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { clients: { type: 'string' }, threads: { type: 'string' } } });
  const n = Number(values.clients ?? 200);
  const threads = values.threads === undefined ? undefined : Number(values.threads);

  await useBackend('wasm');
  const exp = burstExperiment((await loadTable(EMBEDDED_SAMPLE, 'toniot')).table, n, { maxTrainRows: 2000 });
  const joinDelay = monitorEventLoopDelay({ resolution: 5 });
  const burstDelay = monitorEventLoopDelay({ resolution: 5 });
  let elu0 = performance.eventLoopUtilization();
  let elu = elu0;
  const burst = await runUpdateBurst({
    experiment: exp,
    clients: n,
    ...(threads !== undefined && { openThreads: threads }),
    pollStatus: true,
    progress: (line) => process.stderr.write(`${line}\n`),
    hooks: {
      joining: () => joinDelay.enable(),
      joined: () => joinDelay.disable(),
      burst: () => {
        elu0 = performance.eventLoopUtilization();
        burstDelay.reset();
        burstDelay.enable();
      },
      verified: () => {
        burstDelay.disable();
        elu = performance.eventLoopUtilization(elu0);
      },
    },
  });
  const report = burst;
  const { logs, lastUpdateAt } = burst;

  const ms = (ns: number) => ns / 1e6;
  const windowPolls = report.polls.filter((p) => p.at >= report.firstSendAt && p.at <= lastUpdateAt);
  const pollMs = windowPolls.map((p) => p.ms).filter(Number.isFinite);
  const wallSeconds = burst.wallSeconds;
  if (process.env.DEBUG) {
    // Every poll of the burst and after it: seconds since the first send, then its latency in ms.
    process.stderr.write(
      `${report.polls.map((p) => `${((p.at - report.firstSendAt) / 1000).toFixed(2)}:${p.ms.toFixed(0)}`).join(' ')}\n`,
    );
  }
  const result = {
    machine: { cpus: cpus().length, availableParallelism: availableParallelism(), node: process.version },
    clients: n,
    openThreads: threads ?? 'default',
    modelParams: burst.modelParams,
    updatesVerified: burst.updatesVerified,
    acks: report.acks,
    refused: report.refused,
    joinSeconds: burst.joinSeconds,
    joinLoopDelayMs: {
      p50: ms(joinDelay.percentile(50)),
      p99: ms(joinDelay.percentile(99)),
      max: ms(joinDelay.max),
    },
    clientSealMsPerUpdate: burst.clientSealMsPerUpdate,
    burst: {
      wallSeconds,
      lastAckSeconds: (report.lastAckAt - report.firstSendAt) / 1000,
      sendSeconds: (report.lastSendAt - report.firstSendAt) / 1000,
      verifiedUpdatesPerSec: burst.updatesPerSec,
      loopDelayMs: {
        p50: ms(burstDelay.percentile(50)),
        p99: ms(burstDelay.percentile(99)),
        max: ms(burstDelay.max),
      },
      loopUtilization: elu.utilization,
      statusLatencyMs: {
        polls: windowPolls.length,
        failed: windowPolls.length - pollMs.length,
        p50: quantile(pollMs, 0.5),
        p99: quantile(pollMs, 0.99),
        max: pollMs.length ? Math.max(...pollMs) : Number.NaN,
      },
    },
  };

  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const b = result.burst;
  const lines = [
    `event loop under a burst of ${n} sealed updates (${result.modelParams}-parameter model), open threads: ${result.openThreads}; ` +
      `${result.machine.cpus} CPUs, node ${process.version}`,
    `  join:  ${f(result.joinSeconds, 1)} s; loop delay p50 ${f(result.joinLoopDelayMs.p50)} / p99 ${f(result.joinLoopDelayMs.p99)} / max ${f(result.joinLoopDelayMs.max)} ms`,
    `  burst: ${result.updatesVerified} verified (${result.acks} acked, ${report.refused.length} refused) in ${f(b.wallSeconds, 2)} s = ${f(b.verifiedUpdatesPerSec)} updates/s; last ack at ${f(b.lastAckSeconds, 2)} s; loop busy ${f(100 * b.loopUtilization)} %`,
    `  loop delay:        p50 ${f(b.loopDelayMs.p50)}  p99 ${f(b.loopDelayMs.p99)}  max ${f(b.loopDelayMs.max)} ms`,
    `  /api/status (${b.statusLatencyMs.polls} polls, ${b.statusLatencyMs.failed} failed): p50 ${f(b.statusLatencyMs.p50)}  p99 ${f(b.statusLatencyMs.p99)}  max ${f(b.statusLatencyMs.max)} ms`,
    `  client-side sealing (before the burst): ${f(result.clientSealMsPerUpdate)} ms per update`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  if (report.refused.length) {
    process.stderr.write(
      `refused: ${report.refused.slice(0, 3).join(' | ')}\n${logs.slice(-5).join('\n')}\n`,
    );
  }
  const round = (_k: string, v: unknown) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
  process.stdout.write(`${JSON.stringify(result, round)}\n`);
}

await main();
