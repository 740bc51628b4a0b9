/**
 * `GET /api/status` as the dashboard receives it (src/aggregator/coordinator.ts `status()` plus the
 * server's `join`), and the poller that fetches it about once a second. JSON has no NaN: a metric the
 * server could not compute (no evaluation yet) arrives as null.
 *
 * The poller keeps the last good status when the server stops answering, reports `reconnecting` (with the
 * error) and backs off up to `maxIntervalMs`; the first answer after that reports `live` again.
 */

import type { CheckpointJson } from './checkpoint-banner.ts';
import type { PrivacyJson } from './privacy.ts';

export type Metric = number | null;

export interface RoundJson {
  round: number;
  participants: number;
  accuracy: Metric;
  macroF1: Metric;
  mosMAE: Metric;
  loss: Metric;
  bytesUp: number;
  bytesDown: number;
  seconds: number;
  outcome: 'aggregated' | 'closed';
  selected: string[];
  contributed: string[];
  failed: { clientId: string; reason: string }[];
  clientMetrics: {
    clientId: string;
    loss: Metric;
    numSamples: number;
    seconds: Metric;
    samplesPerSec: Metric;
  }[];
  perClassRecall: Record<string, Metric>;
  majorityBaseline: { accuracy: Metric; macroF1: Metric };
  strategy?: string;
  /** How many were selected and failed: with more clients than /api/status lists, `selected`, `failed`,
   * `contributed` and `clientMetrics` hold only the listed clients (absent on older servers). */
  selectedCount?: number;
  failedCount?: number;
  /** Server seconds spent making the round key and opening sealed updates (absent on older servers). */
  cryptoSeconds?: number;
}

export interface ClientJson {
  id: string;
  name: string;
  backend: string;
  state: string;
  numSamples: number;
  rounds: number;
  lastLoss: Metric;
  address?: string;
  key?: string;
}

export interface ClientCounts {
  total: number;
  listed: number;
  idle: number;
  training: number;
  submitted: number;
}

export interface EvaluationJson {
  accuracy: Metric;
  macroF1: Metric;
  mosMAE: Metric;
  loss: Metric;
  perClassRecall: Record<string, Metric>;
  majorityBaseline: { accuracy: Metric; macroF1: Metric };
  confusion: number[][];
  classes: string[];
}

export interface StatusJson {
  session: string;
  /** Rounds completed. */
  round: number;
  phase: 'waiting' | 'training' | 'evaluating' | 'paused' | 'finished' | string;
  clients: number;
  strategy: string;
  serverKeyFingerprint: string | null;
  /** Target number of rounds. */
  rounds: number;
  modelVersion?: number;
  currentRound: {
    round: number;
    attempt: number;
    selected: string[];
    submitted: string[];
    failed: string[];
    /** The lists' full lengths (the lists hold only the listed clients when there are many). */
    selectedCount?: number;
    submittedCount?: number;
    failedCount?: number;
    deadlineAt: string;
  } | null;
  /** The clients listed in `clientList` (the first by id when there are many), and all of them by state. */
  clientCounts?: ClientCounts;
  clientList: ClientJson[];
  refusals: Record<string, number>;
  evaluation: EvaluationJson | null;
  config: {
    dataset?: string;
    rounds: number;
    clientsPerRound: { fraction: number; min: number; max: number };
    quorum?: number;
    roundDeadlineSeconds?: number;
    [k: string]: unknown;
  };
  history: RoundJson[];
  /** The server's public join link; null (or absent on older servers) when it was not configured. */
  join?: string | null;
  /** Whether the server's last checkpoint write worked (absent on older servers). */
  checkpoint?: CheckpointJson;
  /** Client-level differential privacy: ε spent at δ (absent on older servers). */
  privacy?: PrivacyJson;
  /** Secure aggregation (absent on older servers); `view` is checked by secure-view.ts before use. */
  secureAggregation?: { enabled: boolean; view?: unknown; [k: string]: unknown };
}

export type Connection =
  | { state: 'connecting' }
  | { state: 'live'; at: number }
  | { state: 'reconnecting'; since: number; error: string; attempt: number };

export interface PollerOptions {
  fetchStatus: () => Promise<StatusJson>;
  onStatus: (s: StatusJson) => void;
  onConnection: (c: Connection) => void;
  intervalMs?: number;
  maxIntervalMs?: number;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (t: unknown) => void;
}

/** Polls until `stop()`; one request at a time, never overlapping. */
export function startPoller(opts: PollerOptions): { stop(): void; pollNow(): void } {
  const interval = opts.intervalMs ?? 1000;
  const maxInterval = opts.maxIntervalMs ?? 5000;
  const now = opts.now ?? Date.now;
  const setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
  const clearTimer = opts.clearTimer ?? ((t) => clearTimeout(t as ReturnType<typeof setTimeout>));
  let stopped = false;
  let busy = false;
  let timer: unknown = null;
  let failures = 0;
  let since = 0;

  const schedule = (ms: number) => {
    if (stopped) return;
    if (timer !== null) clearTimer(timer);
    timer = setTimer(() => {
      timer = null;
      void tick();
    }, ms);
  };

  async function tick(): Promise<void> {
    if (stopped || busy) return;
    busy = true;
    try {
      const s = await opts.fetchStatus();
      if (stopped) return;
      failures = 0;
      opts.onConnection({ state: 'live', at: now() });
      opts.onStatus(s);
      schedule(interval);
    } catch (e) {
      if (stopped) return;
      if (failures === 0) since = now();
      failures++;
      opts.onConnection({
        state: 'reconnecting',
        since,
        error: e instanceof Error ? e.message : String(e),
        attempt: failures,
      });
      schedule(Math.min(maxInterval, interval * 2 ** Math.min(failures - 1, 8)));
    } finally {
      busy = false;
    }
  }

  opts.onConnection({ state: 'connecting' });
  void tick();
  return {
    stop() {
      stopped = true;
      if (timer !== null) clearTimer(timer);
    },
    pollNow() {
      if (!busy) schedule(0);
    },
  };
}

export class StatusFetchError extends Error {
  override name = 'StatusFetchError';
}

/** `GET /api/status`, refusing anything but a JSON object from a 200. */
export async function fetchStatus(url = '/api/status'): Promise<StatusJson> {
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store', headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new StatusFetchError(`the server did not answer (${(e as Error).message})`);
  }
  if (!res.ok) throw new StatusFetchError(`/api/status answered HTTP ${res.status}`);
  const body = (await res.json()) as unknown;
  if (typeof body !== 'object' || body === null || !Array.isArray((body as StatusJson).history)) {
    throw new StatusFetchError('/api/status did not return a status object');
  }
  return body as StatusJson;
}
