/**
 * Aggregator throughput under a burst of sealed updates: a real aggregator (`startAggregator`, the
 * experiment's model, one round of exactly N clients, quorum N, a 600 s deadline, auto-start, the default
 * worker pool for opening updates, as `pqfed serve` runs it) in this process, and N raw sealed clients
 * (src/bench/burst-clients.ts: the real X-Wing + ML-DSA-65 handshake, one identity each) in a worker
 * thread. When every client has the round's model, each pre-seals its update; then all N are sent at once,
 * so the burst measures the server's work only: from the first send to the N-th update verified, decrypted,
 * decoded and folded into the aggregate (the coordinator's `update` event). The round's evaluation, which
 * follows, is not timed.
 *
 * Used by `pqfed bench` (aggregator.updatesPerSec) and bench/event-loop.ts (which adds event-loop figures
 * through the hooks).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { startAggregator } from '../aggregator/aggregator.ts';
import { parseConfig } from '../aggregator/config.ts';
import { type PreparedExperiment, prepareExperiment } from '../aggregator/experiment.ts';
import { TRUSTED_LOCAL_ADMISSION, TRUSTED_LOCAL_HANDSHAKE_QUEUE } from '../aggregator/handshake-admission.ts';
import { serverChannelsFor } from '../cli/channels.ts';
import { tsWorker } from '../cli/workers.ts';
import type { FlowTable } from '../data/import.ts';
import { type ClientInput, type ClientReport, now } from './burst-clients.ts';

/**
 * The experiment of a burst of `clients` updates: the default experiment (so the default model) with one
 * round of exactly `clients` clients, few test rows, plus `overrides` (raw experiment-config keys).
 */
export function burstExperiment(
  table: FlowTable,
  clients: number,
  overrides: Record<string, unknown> = {},
): PreparedExperiment {
  const config = parseConfig({
    maxTestRows: 200,
    rounds: 1,
    clientsPerRound: { fraction: 1, min: clients, max: clients },
    quorum: clients,
    roundDeadlineSeconds: 600,
    autoStart: true,
    ...overrides,
  });
  return prepareExperiment(config, table);
}

/** Called on the main (server) thread at each phase, e.g. to start and stop event-loop monitors. */
export interface BurstHooks {
  joining?(): void;
  joined?(): void;
  /** Every update is sealed; the burst starts right after this returns. */
  burst?(): void;
  /** The N-th update has been verified and folded. */
  verified?(): void;
}

export interface BurstOptions {
  /** From `burstExperiment(table, clients)`. */
  experiment: PreparedExperiment;
  clients: number;
  /** The server's update-opening threads (0: the main thread); default: the pool's default, as `serve`. */
  openThreads?: number;
  /** Poll GET /api/status every 50 ms from the client thread during the burst. */
  pollStatus?: boolean;
  /** Give up (reject) after this long in all; default 10 minutes. */
  timeoutMs?: number;
  hooks?: BurstHooks;
  /** Progress lines (joined, sealing, burst). */
  progress?: (line: string) => void;
}

export interface BurstResult {
  clients: number;
  modelParams: number;
  updatesVerified: number;
  acks: number;
  /** The first refusals ("reason: message"), if any. */
  refused: string[];
  joinSeconds: number;
  /** Client-side sealing before the burst, per update (channel + envelope + signature). */
  clientSealMsPerUpdate: number;
  /** Epoch milliseconds (comparable across threads). */
  firstSendAt: number;
  lastSendAt: number;
  lastUpdateAt: number;
  lastAckAt: number;
  polls: { at: number; ms: number }[];
  /** From the first send to the N-th verified update. */
  wallSeconds: number;
  /** clients / wallSeconds: verified, decrypted and aggregated updates per second. */
  updatesPerSec: number;
  /** The aggregator's log lines. */
  logs: string[];
}

/** One burst of `clients` sealed updates against a fresh aggregator; see the module comment. */
export async function runUpdateBurst(opts: BurstOptions): Promise<BurstResult> {
  const n = opts.clients;
  const hooks = opts.hooks ?? {};
  const say = opts.progress ?? (() => {});
  const dataDir = mkdtempSync(join(tmpdir(), 'pqfed-bench-burst-'));
  let worker: Worker | undefined;
  let agg: Awaited<ReturnType<typeof startAggregator>> | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // Every client is the bench's own, on loopback: no per-address admission limits (they are for `serve`).
    const channels = await serverChannelsFor(dataDir, 'xwing', {
      maxHandshakeQueue: TRUSTED_LOCAL_HANDSHAKE_QUEUE,
      ...(opts.openThreads !== undefined && { openThreads: opts.openThreads }),
    });
    const logs: string[] = [];
    agg = await startAggregator({
      admission: TRUSTED_LOCAL_ADMISSION,
      experiment: opts.experiment,
      dataDir,
      channels: channels.server,
      port: 0,
      host: '127.0.0.1',
      staticRoot: null,
      log: (l) => logs.push(l),
      release: channels.close,
    });
    let updates = 0;
    let lastUpdateAt = 0;
    agg.coordinator.on('update', () => {
      if (++updates === n) {
        lastUpdateAt = now();
        hooks.verified?.();
      }
    });
    const input: ClientInput = {
      kind: 'pqfed-bench-clients',
      url: `ws://127.0.0.1:${agg.port}/ws`,
      ...(opts.pollStatus && { statusUrl: `http://127.0.0.1:${agg.port}/api/status` }),
      spec: channels.client,
      n,
    };
    say(`aggregator: ${n} clients joining…`);
    const joinStart = now();
    hooks.joining?.();
    const w = tsWorker(new URL('./burst-clients.ts', import.meta.url), input);
    worker = w;
    let sealMs = Number.NaN;
    let joinedAt = 0;
    const report = await new Promise<Extract<ClientReport, { kind: 'done' }>>((ok, fail) => {
      timer = setTimeout(
        () => fail(new Error(`aggregator burst: no result after ${(opts.timeoutMs ?? 600_000) / 1000} s`)),
        opts.timeoutMs ?? 600_000,
      );
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`aggregator burst: the client thread exited (${code})`)));
      w.on('message', (m: ClientReport) => {
        if (m.kind === 'error') fail(new Error(`aggregator burst clients: ${m.message.split('\n')[0]}`));
        else if (m.kind === 'joined') {
          joinedAt = m.at;
          hooks.joined?.();
          say(`aggregator: joined in ${((m.at - joinStart) / 1000).toFixed(1)} s; sealing updates…`);
        } else if (m.kind === 'ready') {
          sealMs = m.sealMs;
          say(`aggregator: burst of ${n} updates…`);
          hooks.burst?.();
          w.postMessage('go');
        } else if (m.kind === 'done') ok(m);
      });
    });
    // Every client has its answer; the N-th update was folded before its ack was sent.
    const wallSeconds = (lastUpdateAt - report.firstSendAt) / 1000;
    return {
      clients: n,
      modelParams: agg.coordinator.globalWeights().length,
      updatesVerified: updates,
      acks: report.acks,
      refused: report.refused.slice(0, 5),
      joinSeconds: (joinedAt - joinStart) / 1000,
      clientSealMsPerUpdate: sealMs,
      firstSendAt: report.firstSendAt,
      lastSendAt: report.lastSendAt,
      lastUpdateAt,
      lastAckAt: report.lastAckAt,
      polls: report.polls,
      wallSeconds: updates === n ? wallSeconds : Number.NaN,
      updatesPerSec: updates === n ? n / wallSeconds : Number.NaN,
      logs,
    };
  } finally {
    clearTimeout(timer);
    worker?.removeAllListeners('exit');
    await worker?.terminate();
    await agg?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
